import Protocol
import CoreTypes
import DaemonTestSupport
import Foundation
import Testing
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket the test owns, standing in for systemd's notify socket.
final class DatagramReceiver {
    let fd: Int32

    /// Binds to `path`, or to the abstract name `name` when `abstract` (no file).
    init(address: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var name = Array(address.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + name.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw DaemonTestError("bind \(address): errno \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The next datagram as text (blocks up to 30 s).
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw DaemonTestError("recv: errno \(errno)") }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }
}

struct SystemdNotifierTests {
    @Test func sendsReadyToAPathSocket() throws {
        let pathDirectory = "/tmp/kvd-notify-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: pathDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: pathDirectory) }
        let path = pathDirectory + "/notify.sock"
        defer { unlink(path) }
        let receiver = try DatagramReceiver(address: path)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": path]))
        try notifier.notify(["READY=1", "STATUS=serving /run/kvd/kvd.sock"])
        #expect(try receiver.receive() == "READY=1\nSTATUS=serving /run/kvd/kvd.sock")
        try notifier.notify(["STOPPING=1"])
        #expect(try receiver.receive() == "STOPPING=1")
    }

    @Test func sendsToAnAbstractSocket() throws {
        let name = "@kvd-notify-test-\(UUID().uuidString.prefix(8))"
        let receiver = try DatagramReceiver(address: name)
        try SystemdNotifier(address: name).notify(["READY=1"])
        #expect(try receiver.receive() == "READY=1")
    }

    @Test func noSocketMeansNoNotifier() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]) == nil)
    }

    @Test func badAddressesAreTypedErrors() throws {
        #expect(throws: SystemdNotifierError.invalidAddress("relative.sock")) {
            try SystemdNotifier(address: "relative.sock").notify(["READY=1"])
        }
        #expect(throws: SystemdNotifierError.invalidAddress("@")) { try SystemdNotifier(address: "@").notify(["READY=1"]) }
        let long = "/" + String(repeating: "x", count: 200)
        #expect(throws: SystemdNotifierError.invalidAddress(long)) { try SystemdNotifier(address: long).notify(["READY=1"]) }
        // Nobody listening: sendto fails with ENOENT / ECONNREFUSED, reported, not crashed.
        let missing = "/tmp/kvd-notify-missing-\(UUID().uuidString.prefix(8))/notify.sock"
        let error = try #require(throws: SystemdNotifierError.self) { try SystemdNotifier(address: missing).notify(["READY=1"]) }
        #expect(error.code == 2)
    }
}

import Protocol
import CoreTypes
import Foundation
import Testing
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

struct SocketActivationTests {
    @Test func readsTheVariablesForThisProcessOnly() throws {
        let pid = getpid()
        let environment = ["LISTEN_PID": "\(pid)", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "kvd:metrics"]
        let sockets = try SocketActivation.passedSockets(environment: environment, pid: pid)
        #expect(sockets == [.init(descriptor: 3, name: "kvd"), .init(descriptor: 4, name: "metrics")])
        // Meant for another process (e.g. inherited from a parent): ignored.
        #expect(try SocketActivation.passedSockets(environment: environment, pid: pid + 1).isEmpty)
        #expect(try SocketActivation.passedSockets(environment: [:], pid: pid).isEmpty)
        let unnamed = try SocketActivation.passedSockets(environment: ["LISTEN_PID": "\(pid)", "LISTEN_FDS": "1"], pid: pid)
        #expect(unnamed == [.init(descriptor: 3, name: "unknown")])
    }

    @Test func malformedVariablesAreTypedErrors() {
        let pid = getpid()
        #expect(throws: SocketActivationError.malformed(variable: "LISTEN_PID", value: "x")) {
            try SocketActivation.passedSockets(environment: ["LISTEN_PID": "x", "LISTEN_FDS": "1"], pid: pid)
        }
        #expect(throws: SocketActivationError.malformed(variable: "LISTEN_FDS", value: "-1")) {
            try SocketActivation.passedSockets(environment: ["LISTEN_PID": "\(pid)", "LISTEN_FDS": "-1"], pid: pid)
        }
        #expect(throws: SocketActivationError.malformed(variable: "LISTEN_FDNAMES", value: "a:b")) {
            try SocketActivation.passedSockets(environment: ["LISTEN_PID": "\(pid)", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"], pid: pid)
        }
    }

    @Test func acceptsOnlyAListeningUnixStreamSocket() throws {
        let pathDirectory = "/tmp/kvd-activation-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: pathDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: pathDirectory) }
        let path = pathDirectory + "/kvd.sock"
        defer { unlink(path) }
        let listening = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listening) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        // Bound but not listening yet: refused.
        #expect(throws: SocketActivationError.wrongKind(descriptor: listening)) {
            try SocketActivation.validateListeningUnixSocket(listening)
        }
        try #require(listen(listening, 16) == 0)
        #expect(try SocketActivation.validateListeningUnixSocket(listening) == path)

        let datagram = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        #expect(throws: SocketActivationError.wrongKind(descriptor: datagram)) {
            try SocketActivation.validateListeningUnixSocket(datagram)
        }
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        #expect(throws: SocketActivationError.notASocket(descriptor: pipeEnds[0], errno: 0)) {
            try SocketActivation.validateListeningUnixSocket(pipeEnds[0])
        }
    }
}

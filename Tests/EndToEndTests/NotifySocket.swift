import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The test's side of systemd's notification protocol: a Unix datagram socket bound to a
/// temporary path, given to kvd as NOTIFY_SOCKET; each datagram is one `sd_notify` message
/// (newline-separated `KEY=VALUE` fields).
final class NotifySocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw HarnessError("notify path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw HarnessError("bind \(path): errno \(errno)") }
    }

    /// Messages received until one contains `field` (e.g. `READY=1`), at most `timeout` seconds;
    /// throws when it does not arrive.
    func waitFor(_ field: String, timeout: Double = 20) throws -> [String] {
        var received: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = recv(descriptor, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let message = String(decoding: buffer[..<n], as: UTF8.self)
            received.append(message)
            if message.split(separator: "\n").contains(where: { $0 == field }) { return received }
        }
        throw HarnessError("no \(field) notification within \(timeout) s; received \(received)")
    }

    deinit {
        close(descriptor)
        unlink(path)
    }
}

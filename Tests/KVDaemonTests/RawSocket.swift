import CoreTypes
import Protocol
#if canImport(Glibc)
import Glibc
#endif

import Foundation

/// A Unix-domain socket that sends arbitrary bytes (for framing tests). Receiving blocks a
/// dedicated thread, never the test's cooperative pool (which the in-process daemon needs).
final class RawSocket: @unchecked Sendable {
    let fd: Int32
    private var splitter = FrameSplitter()

    /// Connects; a receive waits at most `receiveTimeoutSeconds`, then throws.
    init(path: String, receiveTimeoutSeconds: Int = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw DaemonTestError("connect failed: errno \(errno)") }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// The next frame decoded, or nil when the daemon closed the connection.
    func receive() async throws -> Message? {
        try await receiveWithID()?.message
    }

    /// The next frame's request id and decoded message, or nil when the daemon closed the
    /// connection.
    func receiveWithID() async throws -> (requestID: UInt64, message: Message)? {
        try await onDedicatedThread { try self.receiveBlocking() }
    }

    /// ``receiveWithID()`` on the calling thread, blocking it.
    func receiveBlocking() throws -> (requestID: UInt64, message: Message)? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = try splitter.next() { return (frame.requestID, try Message.decode(frame)) }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return nil }
            guard n > 0 else { throw DaemonTestError("recv: errno \(errno)") }
            splitter.feed(chunk[..<n])
        }
    }
}

struct DaemonTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

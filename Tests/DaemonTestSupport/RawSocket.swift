import CoreTypes
import Protocol
#if canImport(Glibc)
import Glibc
#endif

import Foundation

/// A Unix-domain socket that sends arbitrary bytes (framing tests, the server conformance
/// vectors: a client would refuse to send most of them) and reads frames. ``receive()`` and
/// ``receiveWithID()`` block a dedicated thread, never the test's cooperative pool (which the
/// in-process daemon needs); ``receiveFrame()`` and ``receiveBlocking()`` block the caller.
public final class RawSocket: @unchecked Sendable {
    public private(set) var fd: Int32
    private var splitter: FrameSplitter

    /// Connects; a receive waits at most `receiveTimeoutSeconds`, then throws. Frames longer
    /// than `maxFrameBytes` are refused by the splitter.
    public init(path: String, receiveTimeoutSeconds: Int = 30, maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes) throws {
        splitter = FrameSplitter(maxFrameBytes: maxFrameBytes)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DaemonTestError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw DaemonTestError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close()
            throw DaemonTestError("connect(\(path)): errno \(error)")
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// Closes the socket (once; later calls do nothing).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Writes `bytes`; a peer that already closed is not an error here (the reply, or its
    /// absence, is what the tests check).
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// The next frame decoded, or nil when the daemon closed the connection.
    public func receive() async throws -> Message? {
        try await receiveWithID()?.message
    }

    /// The next frame's request id and decoded message, or nil when the daemon closed the
    /// connection.
    public func receiveWithID() async throws -> (requestID: UInt64, message: Message)? {
        try await onDedicatedThread { try self.receiveBlocking() }
    }

    /// ``receiveWithID()`` on the calling thread, blocking it.
    public func receiveBlocking() throws -> (requestID: UInt64, message: Message)? {
        guard let frame = try receiveFrame() else { return nil }
        return (frame.requestID, try Message.decode(frame))
    }

    /// The next frame, undecoded, on the calling thread; nil when the daemon closed (or reset)
    /// the connection. Throws on a timeout.
    public func receiveFrame() throws -> Frame? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = try splitter.next() { return frame }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return nil }
            guard n > 0 else { throw DaemonTestError("recv: errno \(errno)") }
            splitter.feed(chunk[..<n])
        }
    }
}

/// A failure of a test's own plumbing (a socket call, an unexpected reply), with what happened.
public struct DaemonTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

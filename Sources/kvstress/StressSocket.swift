#if canImport(Glibc)
import Glibc
#endif
import Protocol

/// A blocking Unix-domain stream socket that sends arbitrary bytes (malformed included) and
/// reads frames back, checking only the framing. Receives time out after the given seconds, so
/// a daemon that stops answering is reported instead of hanging the driver.
final class StressSocket {
    private(set) var fd: Int32

    /// Connects to `path`.
    init(path: String, receiveTimeoutSeconds: Int) throws(StressError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StressError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close()
            throw StressError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        var result: Int32
        repeat {
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        } while result != 0 && errno == EINTR
        guard result == 0 else {
            let error = errno
            // deinit runs for an initialised object whose init throws: close() leaves -1 behind,
            // so the number (perhaps another thread's by then) is not closed twice.
            close()
            throw StressError("connect(\(path)): \(String(cString: strerror(error))) (errno \(error))")
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// The pid of the peer (the listening process) from `SO_PEERCRED`.
    func peerPID() throws(StressError) -> Int32 {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: 12 bytes; Glibc's overlay hides it.
        var credentials = (Int32(0), UInt32(0), UInt32(0))
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12 else {
            throw StressError("SO_PEERCRED: errno \(errno)")
        }
        return credentials.0
    }

    /// Writes all of `bytes`. Returns false when the peer closed the connection (EPIPE,
    /// ECONNRESET) before everything was written; throws on any other failure (a send timeout
    /// included: the daemon stopped reading).
    @discardableResult
    func send(_ bytes: [UInt8]) throws(StressError) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
                continue
            }
            let error = errno
            if error == EINTR { continue }
            if error == EPIPE || error == ECONNRESET { return false }
            throw StressError("send: \(String(cString: strerror(error))) (errno \(error))")
        }
        return true
    }

    /// What one read of a frame produced.
    enum Received {
        /// A frame: header fields and body.
        case frame(FrameHeader, [UInt8])
        /// The daemon closed the connection at a frame boundary.
        case closed
        /// The daemon closed the connection inside a frame, after `received` of its bytes.
        case cutOff(received: Int, frameBytes: Int)
    }

    /// Reads one frame. Throws when the daemon's bytes are not a well-formed frame (a length
    /// below 12 or above `maxFrameBytes`) or on a receive timeout; a connection closed inside a
    /// frame is reported as ``Received/cutOff(received:frameBytes:)``.
    func receiveFrame(maxFrameBytes: UInt32) throws(StressError) -> Received {
        var header = [UInt8](repeating: 0, count: FrameHeader.byteCount)
        let got = try receive(into: &header, count: FrameHeader.byteCount)
        if got == 0 { return .closed }
        guard got == FrameHeader.byteCount else { return .cutOff(received: got, frameBytes: FrameHeader.byteCount) }
        let result: Result<FrameHeader?, ProtocolError> = header.withUnsafeBytes { raw in
            do throws(ProtocolError) {
                return .success(try FrameHeader.parse(raw, maxFrameBytes: maxFrameBytes))
            } catch {
                return .failure(error)
            }
        }
        let parsed: FrameHeader
        switch result {
        case .failure(let error): throw StressError("daemon sent a bad frame header: \(error)")
        case .success(nil): throw StressError("unreachable: 16 header bytes did not parse")
        case .success(let header?): parsed = header
        }
        var body = [UInt8](repeating: 0, count: parsed.bodyBytes)
        let bodyBytes = try receive(into: &body, count: parsed.bodyBytes)
        guard bodyBytes == parsed.bodyBytes else {
            return .cutOff(received: FrameHeader.byteCount + bodyBytes, frameBytes: parsed.frameBytes)
        }
        return .frame(parsed, body)
    }

    /// Reads up to `count` bytes into `buffer`, stopping early only at end of stream. Connection
    /// resets count as end of stream.
    private func receive(into buffer: inout [UInt8], count: Int) throws(StressError) -> Int {
        var offset = 0
        while offset < count {
            let n = buffer[offset..<count].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                offset += n
                continue
            }
            if n == 0 { return offset }
            let error = errno
            if error == EINTR { continue }
            if error == ECONNRESET { return offset }
            if error == EAGAIN || error == EWOULDBLOCK { throw StressError("no reply within the receive timeout") }
            throw StressError("recv: \(String(cString: strerror(error))) (errno \(error))")
        }
        return offset
    }

    /// Half-closes: the daemon sees end of stream; replies can still be read.
    func shutdownWrite() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

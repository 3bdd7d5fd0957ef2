#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix-domain stream socket for sending arbitrary (including malformed) bytes to
/// the daemon. Receives time out after `receiveTimeout` seconds.
final class RawConnection {
    private(set) var fd: Int32

    init(path: String, receiveTimeout: Int = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < 108 else { throw HarnessError("socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            // deinit runs for an initialised object whose init throws: it must not close the
            // number again (another thread may have been given it meanwhile).
            close()
            throw HarnessError("connect(\(path)): errno \(error)")
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes`; throws if the peer closed.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HarnessError("send: errno \(errno)") }
            offset += n
        }
    }

    /// Reads exactly `count` bytes, or returns what arrived before EOF; throws on timeout.
    func receive(exactly count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = result[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return Array(result[..<offset]) }
            guard n > 0 else { throw HarnessError("recv: errno \(errno)") }
            offset += n
        }
        return result
    }

    /// Reads one whole frame (`u32 length` + that many bytes); nil at EOF.
    func receiveFrame() throws -> (type: UInt16, flags: UInt16, requestID: UInt64, body: [UInt8])? {
        let prefix = try receive(exactly: 4)
        guard prefix.count == 4 else { return nil }
        let length = Int(UInt32(prefix[0]) | UInt32(prefix[1]) << 8 | UInt32(prefix[2]) << 16 | UInt32(prefix[3]) << 24)
        let rest = try receive(exactly: length)
        guard rest.count == length, length >= 12 else { return nil }
        let type = UInt16(rest[0]) | UInt16(rest[1]) << 8
        let flags = UInt16(rest[2]) | UInt16(rest[3]) << 8
        var id: UInt64 = 0
        for i in 0..<8 { id |= UInt64(rest[4 + i]) << (8 * UInt64(i)) }
        return (type, flags, id, Array(rest[12...]))
    }

    /// Reads until EOF (the daemon closed the connection), discarding data; returns the number of
    /// bytes read. Throws on timeout, i.e. when the daemon kept the connection open.
    func drainUntilClosed() throws -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return total }
            if n < 0 {
                if errno == ECONNRESET { return total }
                throw HarnessError("connection still open (recv errno \(errno))")
            }
            total += n
        }
    }

    /// Half-closes: the daemon sees end-of-stream, the connection can still receive.
    func shutdownWrite() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

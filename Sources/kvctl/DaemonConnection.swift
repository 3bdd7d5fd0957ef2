#if canImport(Glibc)
import Glibc
#endif
import Protocol

/// A blocking connection to kvd for kvctl: Protocol's codec over a Unix-domain socket, one
/// request at a time, handshake on connect. Error replies are thrown as `ProtocolError`.
final class DaemonConnection {
    private var fd: Int32
    private var nextID: UInt64 = 1
    private var splitter = FrameSplitter()
    private var receiveBuffer = [UInt8](repeating: 0, count: 1 << 20)
    /// The daemon's handshake answer.
    private(set) var server: HelloOK

    init(socketPath: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw KvctlError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw KvctlError("socket path too long") }
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
            Glibc.close(fd)
            self.fd = -1
            throw KvctlError("cannot connect to \(socketPath): \(String(cString: strerror(error)))")
        }
        server = HelloOK(version: 0, maxFrameBytes: 0, maxBlocksPerRequest: 0, peerUID: 0, peerGID: 0)
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard case .helloOK(let ok) = try call(.hello(Hello())) else { throw KvctlError("handshake: unexpected reply") }
        server = ok
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Sends `message`, waits for its reply; throws the error of an error reply.
    func call(_ message: Message) throws -> Message {
        let id = nextID
        nextID += 1
        let bytes = try message.encodeFrame(requestID: id)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw KvctlError("send: \(String(cString: strerror(errno)))") }
            offset += n
        }
        let frame = try receiveFrame()
        let reply = try Message.decode(frame)
        if case .error(let error) = reply { throw error }
        guard frame.requestID == id else { throw KvctlError("reply for request \(frame.requestID), expected \(id)") }
        return reply
    }

    private func receiveFrame() throws -> Frame {
        while true {
            if let frame = try splitter.next() { return frame }
            let n = receiveBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw KvctlError(n == 0 ? "the daemon closed the connection" : "recv: \(String(cString: strerror(errno)))") }
            receiveBuffer.withUnsafeBytes { splitter.feed(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
    }
}

/// A kvctl failure that is not an error reply of the daemon.
struct KvctlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// systemd socket activation (the `sd_listen_fds` protocol), implemented without libsystemd.
///
/// When systemd (or `systemd-socket-activate`) starts kvd for a socket unit, it passes the
/// listening sockets as file descriptors 3, 4, … and sets `LISTEN_PID` (the pid they are meant
/// for), `LISTEN_FDS` (how many) and optionally `LISTEN_FDNAMES` (colon-separated names). The
/// descriptors belong to this process only when `LISTEN_PID` equals its pid; the variables are
/// then removed from the environment so children do not inherit them, and each descriptor is
/// marked close-on-exec.
public enum SocketActivation {
    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3

    /// One socket passed by systemd.
    public struct PassedSocket: Sendable, Hashable {
        /// The file descriptor (≥ 3).
        public var descriptor: Int32
        /// Its name from `LISTEN_FDNAMES` (`FileDescriptorName=` of the socket unit), or
        /// `"unknown"` as systemd names unnamed ones.
        public var name: String
    }

    /// The sockets passed to this process; empty when kvd was not socket-activated (no
    /// `LISTEN_PID`/`LISTEN_FDS`, or `LISTEN_PID` names another process).
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - pid: this process's id (`getpid()`).
    ///   - first: the first descriptor; always 3 except in tests.
    /// - Throws: `SocketActivationError` when the variables are malformed.
    public static func passedSockets(
        environment: [String: String], pid: Int32 = getpid(), first: Int32 = firstDescriptor
    ) throws(SocketActivationError) -> [PassedSocket] {
        guard let pidText = environment["LISTEN_PID"], let countText = environment["LISTEN_FDS"] else { return [] }
        guard let listenPID = Int32(pidText) else { throw .malformed(variable: "LISTEN_PID", value: pidText) }
        guard listenPID == pid else { return [] }
        guard let count = Int32(countText), count >= 0, count < 4096 else {
            throw .malformed(variable: "LISTEN_FDS", value: countText)
        }
        let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        if !names.isEmpty && names.count != Int(count) {
            throw .malformed(variable: "LISTEN_FDNAMES", value: environment["LISTEN_FDNAMES"] ?? "")
        }
        return (0..<count).map { index in
            PassedSocket(descriptor: first + index, name: names.isEmpty ? "unknown" : names[Int(index)])
        }
    }

    /// Removes `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` from the process environment
    /// (as `sd_listen_fds(1)` does) and marks `sockets` close-on-exec.
    public static func consume(_ sockets: [PassedSocket]) {
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
        for socket in sockets {
            let flags = fcntl(socket.descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(socket.descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Checks that `descriptor` is a listening `AF_UNIX` stream socket (what kvd serves on) and
    /// returns the path it is bound to (empty for an unnamed or abstract socket).
    public static func validateListeningUnixSocket(_ descriptor: Int32) throws(SocketActivationError) -> String {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .notASocket(descriptor: descriptor, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(descriptor: descriptor, errno: 0) }
        var type: Int32 = 0
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            throw .notASocket(descriptor: descriptor, errno: errno)
        }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 else {
            throw .notASocket(descriptor: descriptor, errno: errno)
        }
        var address = sockaddr_un()
        var addressLength = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &addressLength) }
        }
        guard named == 0 else { throw .notASocket(descriptor: descriptor, errno: errno) }
        guard Int32(address.sun_family) == AF_UNIX, type == Int32(SOCK_STREAM.rawValue), accepting != 0 else {
            throw .wrongKind(descriptor: descriptor)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let pathBytes = max(0, Int(addressLength) - pathOffset)
        return withUnsafeBytes(of: &address.sun_path) { raw in
            let bytes = Array(raw.prefix(pathBytes))
            if bytes.first == 0 { return "" }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// Why the sockets passed by systemd cannot be used. Codes are stable.
public enum SocketActivationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `LISTEN_PID`, `LISTEN_FDS` or `LISTEN_FDNAMES` does not parse (or names a different count).
    case malformed(variable: String, value: String)
    /// The descriptor is not an open socket.
    case notASocket(descriptor: Int32, errno: Int32)
    /// The descriptor is a socket, but not a listening `AF_UNIX` stream socket.
    case wrongKind(descriptor: Int32)
    /// kvd expects exactly one passed socket for its protocol (and optionally one named `metrics`).
    case unexpectedCount(Int)

    /// Stable numeric code.
    public var code: UInt16 {
        switch self {
        case .malformed: 1
        case .notASocket: 2
        case .wrongKind: 3
        case .unexpectedCount: 4
        }
    }

    public var description: String {
        switch self {
        case .malformed(let variable, let value): "socket activation: \(variable)=\(value) is malformed"
        case .notASocket(let descriptor, let errno): "socket activation: descriptor \(descriptor) is not a socket (errno \(errno))"
        case .wrongKind(let descriptor): "socket activation: descriptor \(descriptor) is not a listening AF_UNIX stream socket"
        case .unexpectedCount(let count): "socket activation: expected one protocol socket, got \(count)"
        }
    }
}

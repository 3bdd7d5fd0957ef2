#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The daemon's listening socket file: stale-file detection before bind, permissions after,
/// removal at shutdown.
enum SocketFile {
    /// Longest path `sockaddr_un` can hold on Linux, excluding the terminating NUL.
    static let maximumPathLength = 107

    /// Makes `path` free for `bind(2)`: a missing path is fine; a socket that nobody answers on
    /// (left by a daemon that died) is removed; a socket a live daemon answers on is
    /// `DaemonError.socketInUse`; anything that is not a socket is never touched.
    static func prepare(path: String) throws {
        guard path.utf8.count <= maximumPathLength else {
            throw DaemonError.socketPathTooLong(path: path, limit: maximumPathLength)
        }
        var info = stat()
        if lstat(path, &info) != 0 {
            let error = errno
            if error == ENOENT { return }
            throw DaemonError.socketFile(path: path, operation: "lstat", errno: error)
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError.socketPathNotASocket(path: path)
        }
        if isLive(path: path) { throw DaemonError.socketInUse(path: path) }
        if unlink(path) != 0 && errno != ENOENT {
            throw DaemonError.socketFile(path: path, operation: "unlink", errno: errno)
        }
    }

    /// True when something accepts a stream connection on the socket at `path`.
    static func isLive(path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(maximumPathLength))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Sets the socket file's mode (default 0660) and, when given, its group, so that exactly the
    /// owner and that group can connect.
    static func applyPermissions(path: String, mode: UInt32, group: UInt32?) throws {
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
            throw DaemonError.socketFile(path: path, operation: "chown", errno: errno)
        }
        if chmod(path, mode_t(mode)) != 0 {
            throw DaemonError.socketFile(path: path, operation: "chmod", errno: errno)
        }
    }

    /// Removes the socket file if it is still a socket (called once the listener is closed).
    static func remove(path: String) {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK {
            unlink(path)
        }
    }
}

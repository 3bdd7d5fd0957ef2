#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The daemon's listening socket file: stale-file detection before bind, creation with its
/// final permissions (``bindListening(path:mode:group:backlog:)``), removal at shutdown.
enum SocketFile {
    /// The "others may write" permission bit (`S_IWOTH`).
    static let worldWritable: mode_t = 0o002

    /// Longest path `sockaddr_un` can hold on Linux, excluding the terminating NUL.
    static let maximumPathLength = 107

    /// Makes `path` free for the socket: a missing path is fine; a socket that nobody answers on
    /// (left by a daemon that died) is removed; a socket a live daemon answers on is
    /// `DaemonError.socketInUse`; a symbolic link is left for ``bindListening(path:mode:group:backlog:)``
    /// to replace (it is never followed); anything else that is not a socket is never touched
    /// (`DaemonError.socketPathNotASocket`).
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
        if (info.st_mode & S_IFMT) == S_IFLNK { return }
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
        var address = unixAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Creates the daemon's listening socket at `path` with exactly `mode` and, when given,
    /// `group`, and returns its descriptor (listening, close-on-exec) for NIO to serve.
    ///
    /// The socket is bound inside a fresh private directory (`mkdtemp`, mode 0700) next to
    /// `path`, where nobody else can reach it; its mode and group are set there by name
    /// relative to that directory's descriptor, then it listens and is hard-linked to `path`
    /// (`link(2)` never replaces: a socket another daemon bound there meanwhile is
    /// `DaemonError.socketInUse`) — or `rename(2)`d onto it when `path` is a symlink.
    /// The process umask is never changed, no `chmod`/`chown` is applied to `path` itself (a
    /// symlink planted there is replaced, never followed), and the socket appears at `path`
    /// with its final permissions, already accepting. `prepare(path:)` must have run first.
    static func bindListening(path: String, mode: UInt32, group: UInt32?, backlog: Int32 = 256) throws -> Int32 {
        guard path.utf8.count <= maximumPathLength else {
            throw DaemonError.socketPathTooLong(path: path, limit: maximumPathLength)
        }
        let directory = parentDirectory(of: path)
        var template = Array((directory == "/" ? "/.kvd-XXXXXX" : directory + "/.kvd-XXXXXX").utf8CString)
        guard let privateDirectory = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!).map { String(cString: $0) } }) else {
            throw DaemonError.socketFile(path: directory, operation: "mkdtemp", errno: errno)
        }
        defer { rmdir(privateDirectory) }
        let directoryFD = open(privateDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directoryFD >= 0 else {
            throw DaemonError.socketFile(path: privateDirectory, operation: "open", errno: errno)
        }
        defer { close(directoryFD) }
        let name = "s"
        // The bind address names the private directory; through its descriptor when the path
        // would not fit in sockaddr_un.
        let directPath = privateDirectory + "/" + name
        let bindPath = directPath.utf8.count <= maximumPathLength ? directPath : "/proc/self/fd/\(directoryFD)/\(name)"

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError.socketFile(path: path, operation: "socket", errno: errno) }
        var bound = false
        do {
            guard bindUnix(fd, path: bindPath) == 0 else { throw DaemonError.socketFile(path: bindPath, operation: "bind", errno: errno) }
            bound = true
            if let group, fchownat(directoryFD, name, uid_t.max, gid_t(group), AT_SYMLINK_NOFOLLOW) != 0 {
                throw DaemonError.socketFile(path: directPath, operation: "fchownat", errno: errno)
            }
            // Nobody else can reach the private directory, so the name is the socket just bound.
            guard fchmodat(directoryFD, name, mode_t(mode), 0) == 0 else {
                throw DaemonError.socketFile(path: directPath, operation: "fchmodat", errno: errno)
            }
            guard listen(fd, backlog) == 0 else { throw DaemonError.socketFile(path: path, operation: "listen", errno: errno) }
            var existing = stat()
            if lstat(path, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFLNK {
                // A symlink (left by `prepare`): replaced atomically, never followed.
                guard renameat(directoryFD, name, AT_FDCWD, path) == 0 else {
                    throw DaemonError.socketFile(path: path, operation: "rename", errno: errno)
                }
            } else {
                // Nothing should be at `path` (`prepare` removed a stale socket): link(2) never
                // replaces, so a daemon that bound the path meanwhile is refused, not displaced.
                guard linkat(directoryFD, name, AT_FDCWD, path, 0) == 0 else {
                    let error = errno
                    if error == EEXIST { throw DaemonError.socketInUse(path: path) }
                    throw DaemonError.socketFile(path: path, operation: "link", errno: error)
                }
                unlinkat(directoryFD, name, 0)
            }
            return fd
        } catch {
            if bound { unlinkat(directoryFD, name, 0) }
            close(fd)
            throw error
        }
    }

    /// The Unix-domain address of `path`: its first ``maximumPathLength`` bytes, NUL-terminated.
    private static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(maximumPathLength))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Binds `fd` to the Unix-domain address `path` (≤ 107 bytes).
    private static func bindUnix(_ fd: Int32, path: String) -> Int32 {
        var address = unixAddress(path)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// The directory part of `path` (`.` for a bare name).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// Refuses a directory anyone may write to (`DaemonError.invalidConfiguration`): in a
    /// world-writable directory another user could replace the socket file or plant files.
    /// `what` names the directory in the message. A missing directory is reported by the
    /// caller's next step.
    static func checkNotWorldWritable(_ directory: String, what: String) throws {
        var info = stat()
        guard stat(directory, &info) == 0 else { return }
        if info.st_mode & worldWritable != 0 {
            throw DaemonError.invalidConfiguration(
                "\(what) \(directory) is world-writable (mode \(String(info.st_mode & 0o7777, radix: 8))); use a directory only kvd's user (and group) may write, e.g. /run/kvd")
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

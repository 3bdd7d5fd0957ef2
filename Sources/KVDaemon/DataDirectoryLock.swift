#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An exclusive `flock(2)` on `<data directory>/kvd.lock`, held for the daemon's lifetime, so
/// two daemons (on different sockets) never open the same store. The kernel releases it when
/// the process dies, so a killed daemon leaves nothing to clean up.
final class DataDirectoryLock: Sendable {
    private let fd: Int32

    /// Creates the directory if missing and takes the lock; throws
    /// `DaemonError.invalidConfiguration` when another process holds it.
    init(directory: String) throws {
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            throw DaemonError.socketFile(path: directory, operation: "mkdir", errno: errno)
        }
        let path = directory + "/kvd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonError.socketFile(path: path, operation: "open", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonError.invalidConfiguration("data directory \(directory) is in use by another kvd")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}

import Foundation
import Synchronization

/// Exclusive ownership of a data directory while a store is open, so two stores — in one
/// process or in two — never serve the same directory (each keeps in-memory state that another
/// writer would silently invalidate):
/// - across processes, a POSIX record lock (`fcntl(F_SETLK)`, write lock on the whole file)
///   on `<directory>/kvstore.lock`. Record locks belong to the process: children spawned
///   meanwhile do not inherit them (unlike `flock`, whose lock a child briefly holding a copy of
///   the descriptor would keep alive), and the kernel drops them when the process dies, so a
///   crash never leaves a stale lock;
/// - within the process, a registry of open directories (record locks do not conflict within
///   one process).
final class DirectoryLock: Sendable {
    private static let openDirectories = Mutex<Set<String>>([])

    private let descriptor: Int32
    private let canonicalPath: String

    /// Creates the directory (mode 0700) if needed and takes the lock; `.locked` if another
    /// open store holds it.
    init(directory: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            let e = error as NSError
            throw .io(errno: e.domain == NSPOSIXErrorDomain ? Int32(e.code) : EIO)
        }
        guard let resolved = realpath(directory, nil) else { throw .io(errno: errno) }
        let canonical = String(cString: resolved)
        free(resolved)
        guard Self.openDirectories.withLock({ $0.insert(canonical).inserted }) else { throw .locked }

        let fd = open(canonical + "/kvstore.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            _ = Self.openDirectories.withLock { $0.remove(canonical) }
            throw .io(errno: code)
        }
        var lock = Glibc.flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        guard fcntl(fd, F_SETLK, &lock) == 0 else {
            let code = errno
            Foundation.close(fd)
            _ = Self.openDirectories.withLock { $0.remove(canonical) }
            throw code == EACCES || code == EAGAIN ? .locked : .io(errno: code)
        }
        descriptor = fd
        canonicalPath = canonical
    }

    /// Releases the lock (closing the descriptor drops the record lock).
    func release() {
        Foundation.close(descriptor)
        _ = Self.openDirectories.withLock { $0.remove(canonicalPath) }
    }
}

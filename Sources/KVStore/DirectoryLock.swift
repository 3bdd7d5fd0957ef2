import Foundation

/// An exclusive advisory lock (`flock`) on `<directory>/kvstore.lock`, held while a store is
/// open, so two stores — in one process or in two — never serve the same data directory (each
/// keeps in-memory state that another writer would silently invalidate). The kernel releases it
/// when the process dies, so a crash never leaves a stale lock.
final class DirectoryLock: Sendable {
    private let descriptor: Int32

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
        let fd = open(directory + "/kvstore.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Foundation.close(fd)
            throw code == EWOULDBLOCK ? .locked : .io(errno: code)
        }
        descriptor = fd
    }

    /// Releases the lock.
    func release() {
        Foundation.close(descriptor)
    }
}

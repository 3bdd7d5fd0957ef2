import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks of the data directory before the store opens it.
enum DataDirectory {
    /// Makes sure `path` is a directory only kvd's user controls: an existing one must be a
    /// directory owned by the effective uid and not world-writable; a missing one is created with
    /// mode 0700 (its missing parents with the default mode). Throws
    /// `DaemonError.invalidConfiguration` naming the directory and what is wrong.
    static func prepare(_ path: String, owner: uid_t = geteuid()) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw DaemonError.invalidConfiguration("data directory \(path): stat failed (errno \(errno))")
            }
            let parent = SocketFile.parentDirectory(of: path)
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            // mkdir applies the umask; 0700 minus any umask is at most 0700.
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw DaemonError.invalidConfiguration("data directory \(path) cannot be created (errno \(errno))")
            }
            guard stat(path, &info) == 0 else {
                throw DaemonError.invalidConfiguration("data directory \(path): stat failed (errno \(errno))")
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw DaemonError.invalidConfiguration("data directory \(path) is not a directory")
        }
        guard info.st_uid == owner else {
            throw DaemonError.invalidConfiguration("data directory \(path) is owned by uid \(info.st_uid), not by kvd's uid \(owner)")
        }
        if info.st_mode & SocketFile.worldWritable != 0 {
            throw DaemonError.invalidConfiguration(
                "data directory \(path) is world-writable (mode \(String(info.st_mode & 0o7777, radix: 8))); make it 0700")
        }
    }
}

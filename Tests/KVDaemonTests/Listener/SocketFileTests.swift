import Protocol
import CoreTypes
import Foundation
import Testing
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

final class SocketFileTests {
    let directory: String = {
        let path = "/tmp/kvd-socketfile-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Binds a Unix socket at `path` (listening when `listen` is true) and returns its fd.
    func bound(_ path: String, listening: Bool) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if listening { listen(fd, 4) }
        return fd
    }

    @Test func missingPathIsFine() throws {
        try SocketFile.prepare(path: directory + "/none.sock")
    }

    @Test func staleSocketIsRemovedLiveOneIsRefused() throws {
        let stale = directory + "/stale.sock"
        close(bound(stale, listening: false))
        #expect(FileManager.default.fileExists(atPath: stale))
        try SocketFile.prepare(path: stale)
        #expect(!FileManager.default.fileExists(atPath: stale))

        let live = directory + "/live.sock"
        let fd = bound(live, listening: true)
        defer { close(fd) }
        #expect(throws: DaemonError.socketInUse(path: live)) { try SocketFile.prepare(path: live) }
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func regularFileAndOverlongPathAreRefused() throws {
        let file = directory + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3])))
        #expect(throws: DaemonError.socketPathNotASocket(path: file)) { try SocketFile.prepare(path: file) }
        #expect(FileManager.default.contents(atPath: file) == Data([1, 2, 3]))
        let long = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: DaemonError.socketPathTooLong(path: long, limit: 107)) { try SocketFile.prepare(path: long) }
    }

    @Test func theSocketIsCreatedListeningWithItsModeAndReplacesASymlink() throws {
        let path = directory + "/mode.sock"
        let target = directory + "/target"
        #expect(FileManager.default.createFile(atPath: target, contents: Data([9])))
        chmod(target, 0o644)
        #expect(symlink(target, path) == 0)
        try SocketFile.prepare(path: path)
        let mask = umask(0o077)
        umask(mask)
        let fd = try SocketFile.bindListening(path: path, mode: 0o600, group: nil)
        defer { close(fd) }
        #expect(umask(mask) == mask, "the umask is untouched")
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(SocketFile.isLive(path: path), "it listens")
        #expect(lstat(target, &info) == 0 && info.st_mode & 0o7777 == 0o644 && info.st_mode & S_IFMT == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".kvd-") }.isEmpty)
    }

    @Test func aSocketBoundAtThePathMeanwhileIsNotDisplaced() throws {
        let path = directory + "/race.sock"
        try SocketFile.prepare(path: path)
        // Another daemon binds the path between the check and the link.
        let other = bound(path, listening: true)
        defer { close(other) }
        #expect(throws: DaemonError.socketInUse(path: path)) { try SocketFile.bindListening(path: path, mode: 0o660, group: nil) }
        #expect(SocketFile.isLive(path: path), "the other socket still serves")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".kvd-") }.isEmpty)
    }

    @Test func aLongSocketPathIsBoundThroughTheDirectoryDescriptor() throws {
        // The private directory's name is longer than the socket's: its path would not fit.
        let path = directory + "/" + String(repeating: "k", count: SocketFile.maximumPathLength - directory.utf8.count - 1)
        #expect(path.utf8.count == SocketFile.maximumPathLength)
        let fd = try SocketFile.bindListening(path: path, mode: 0o660, group: nil)
        defer { close(fd) }
        #expect(SocketFile.isLive(path: path))
    }

    @Test func worldWritableDirectoriesAreRefused() throws {
        let open = directory + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        let error = try #require(throws: DaemonError.self) { try SocketFile.checkNotWorldWritable(open, what: "socket directory") }
        #expect(error.description.contains("socket directory \(open) is world-writable"), "\(error)")
        #expect(throws: DaemonError.self) { try DataDirectory.prepare(open) }
        chmod(open, 0o755)
        try SocketFile.checkNotWorldWritable(open, what: "socket directory")
        try DataDirectory.prepare(open)
        #expect(throws: DaemonError.self) { try DataDirectory.prepare(open, owner: getuid() &+ 1) }
        let fresh = directory + "/fresh/data"
        try DataDirectory.prepare(fresh)
        var info = stat()
        #expect(stat(fresh, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }
}

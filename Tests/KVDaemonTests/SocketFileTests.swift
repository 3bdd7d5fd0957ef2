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

    @Test func permissionsAreApplied() throws {
        let path = directory + "/mode.sock"
        let fd = bound(path, listening: true)
        defer { close(fd) }
        try SocketFile.applyPermissions(path: path, mode: 0o600, group: nil)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }
}

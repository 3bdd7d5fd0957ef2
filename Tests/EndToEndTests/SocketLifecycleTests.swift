import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's socket file: permissions, stale-file replacement, refusal of a second daemon,
/// removal on SIGTERM and SIGINT.
extension EndToEnd {
@Suite struct SocketLifecycleTests {
    @Test func socketIsCreatedWithMode0660() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o660)
    }

    @Test func staleSocketFromKilledDaemonIsReplaced() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        try daemon.stop(signal: SIGKILL)
        #expect(FileManager.default.fileExists(atPath: daemon.socketPath), "kill -9 leaves the socket file")
        try daemon.start()
        let connection = try RawConnection(path: daemon.socketPath)
        connection.close()
    }

    @Test func secondDaemonOnLiveSocketFailsAndFirstKeepsServing() throws {
        let first = try DaemonProcess()
        defer { first.cleanUp() }
        try first.start()
        let second = Process()
        second.executableURL = URL(fileURLWithPath: DaemonProcess.kvdPath)
        second.arguments = ["serve", "--socket", first.socketPath, "--data", first.dataPath + "-other"]
        let errors = Pipe()
        second.standardError = errors
        try second.run()
        second.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus != 0)
        #expect(message.contains("another kvd is serving"))
        let connection = try RawConnection(path: first.socketPath)
        connection.close()
    }

    @Test func secondDaemonOnTheSameDataDirectoryFails() throws {
        let first = try DaemonProcess()
        defer { first.cleanUp() }
        try first.start()
        let second = Process()
        second.executableURL = URL(fileURLWithPath: DaemonProcess.kvdPath)
        second.arguments = ["serve", "--socket", first.socketPath + "-2", "--data", first.dataPath]
        let errors = Pipe()
        second.standardError = errors
        try second.run()
        second.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus != 0)
        #expect(message.contains("in use by another kvd"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: first.socketPath + "-2"))
    }

    /// An idle client is told why its connection ends — a `shuttingDown` error with request id
    /// 0 — and then sees end-of-stream, instead of a silent cut or a connection left open.
    @Test(arguments: [SIGTERM, SIGINT])
    func signalStopsCleanlyAndRemovesSocket(signal: Int32) throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        // The handshake's reply proves the daemon has accepted and registered the connection,
        // so the shutdown finds it (a connection still in the listen backlog is only reset).
        let idle = try TestClient(socketPath: daemon.socketPath)
        defer { idle.close() }
        let status = try daemon.stop(signal: signal)
        #expect(status == 0, "log:\n\(daemon.log_())")
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        let notice = try idle.receiveReply(id: 0)
        guard case .error(let error) = notice else {
            Issue.record("expected the shuttingDown notice, got \(notice)")
            return
        }
        #expect(error.code == .shuttingDown, "\(error)")
        #expect(try idle.connection.drainUntilClosed() == 0, "nothing after the notice, then end-of-stream")
    }

    @Test func flagsOverrideEnvironmentOverrideConfigFile() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        let config = daemon.root.appendingPathComponent("kvd.conf").path
        try "# kvd settings\nsocket-mode = 600\nlog-level = debug\n".write(toFile: config, atomically: true, encoding: .utf8)
        func mode() -> mode_t {
            var info = stat()
            _ = lstat(daemon.socketPath, &info)
            return info.st_mode & 0o777
        }
        try daemon.start(arguments: ["--config", config])
        #expect(mode() == 0o600, "config file applies")
        try daemon.stop()
        try daemon.start(arguments: ["--config", config], environment: ["KVD_SOCKET_MODE": "640"])
        #expect(mode() == 0o640, "environment beats config file")
        try daemon.stop()
        try daemon.start(arguments: ["--config", config, "--socket-mode", "660"], environment: ["KVD_SOCKET_MODE": "640"])
        #expect(mode() == 0o660, "flag beats environment")
        try daemon.stop()
    }

    @Test func socketHasTheConfiguredModeAndGroupAndTheUmaskIsUntouched() throws {
        try #require(getuid() == 0, "gives the socket to another group and must run as root")
        let daemon = try DaemonProcess(extraArguments: ["--socket-mode", "640", "--socket-group", "65534"])
        defer { daemon.cleanUp() }
        try daemon.start()
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(info.st_gid == 65534)
        // kvd's umask is the one it inherited (it never sets its own).
        let inherited = umask(0o022)
        umask(inherited)
        let status = try String(contentsOfFile: "/proc/\(daemon.pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") }.map(String.init) ?? ""
        #expect(UInt32(line.split(separator: "\t").last ?? "", radix: 8) == UInt32(inherited), "\(line)")
        // No private bind directory is left beside the socket.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: daemon.root.path).filter { $0.hasPrefix(".kvd-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func aSymlinkAtTheSocketPathIsReplacedNotFollowed() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        let target = daemon.root.appendingPathComponent("target").path
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
        chmod(target, 0o604)
        try #require(symlink(target, daemon.socketPath) == 0)
        try daemon.start()
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK, "the link was replaced by the socket")
        var targetInfo = stat()
        #expect(lstat(target, &targetInfo) == 0)
        #expect(targetInfo.st_mode & S_IFMT == S_IFREG && targetInfo.st_mode & 0o7777 == 0o604, "the target's mode is unchanged")
        #expect(targetInfo.st_uid == getuid() && targetInfo.st_gid == getgid())
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
    }

    @Test func aWorldWritableSocketDirectoryIsRefused() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        chmod(daemon.root.path, 0o777)
        let error = try #require(throws: HarnessError.self) { try daemon.start(timeout: 10) }
        #expect(error.description.contains("exited with status 1"), "\(error)")
        #expect(error.description.contains("socket directory \(daemon.root.path) is world-writable"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
    }

    @Test func aWorldWritableOrForeignDataDirectoryIsRefused() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try FileManager.default.createDirectory(atPath: daemon.dataPath, withIntermediateDirectories: false)
        chmod(daemon.dataPath, 0o777)
        let open = try #require(throws: HarnessError.self) { try daemon.start(timeout: 10) }
        #expect(open.description.contains("data directory \(daemon.dataPath) is world-writable"), "\(open)")
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        if getuid() == 0 {
            chmod(daemon.dataPath, 0o700)
            chown(daemon.dataPath, 65534, 65534)
            let foreign = try #require(throws: HarnessError.self) { try daemon.start(timeout: 10) }
            #expect(foreign.description.contains("is owned by uid 65534"), "\(foreign)")
        }
    }

    @Test func aMissingDataDirectoryIsCreatedPrivate() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        var info = stat()
        #expect(stat(daemon.dataPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
    }

    @Test func regularFileAtSocketPathIsNeverReplaced() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        _ = FileManager.default.createFile(atPath: daemon.socketPath, contents: Array("precious".utf8).withUnsafeBytes { Data($0) })
        #expect(throws: HarnessError.self) { try daemon.start(timeout: 5) }
        #expect(try String(contentsOfFile: daemon.socketPath, encoding: .utf8) == "precious")
    }
}
}

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

    @Test func regularFileAtSocketPathIsNeverReplaced() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        _ = FileManager.default.createFile(atPath: daemon.socketPath, contents: Array("precious".utf8).withUnsafeBytes { Data($0) })
        #expect(throws: HarnessError.self) { try daemon.start(timeout: 5) }
        #expect(try String(contentsOfFile: daemon.socketPath, encoding: .utf8) == "precious")
    }
}
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `kvd serve` process on a temporary socket and data directory, spawned from the build
/// products directory (the directory of the running test binary, or `$KVD_BINARY`'s).
final class DaemonProcess: @unchecked Sendable {
    /// Temporary directory holding the socket and the data directory; removed by `cleanUp()`.
    let root: URL
    /// Socket path.
    let socketPath: String
    /// Data directory.
    let dataPath: String
    /// Extra flags given on every start.
    let extraArguments: [String]
    private(set) var process: Process?
    /// Everything the daemon wrote on stderr, across restarts.
    let logPath: String

    /// The build products directory: where the test binary and `kvd`/`kvctl` are.
    static var productsDirectory: URL {
        if let explicit = ProcessInfo.processInfo.environment["KVD_BINARY"] {
            return URL(fileURLWithPath: explicit).deletingLastPathComponent()
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // Inside an .xctest bundle directory on some layouts.
        while dir.pathExtension == "xctest" || dir.lastPathComponent == "MacOS" { dir.deleteLastPathComponent() }
        return dir
    }

    static var kvdPath: String { productsDirectory.appendingPathComponent("kvd").path }
    static var kvctlPath: String { productsDirectory.appendingPathComponent("kvctl").path }

    init(extraArguments: [String] = []) throws {
        let base = URL(fileURLWithPath: "/tmp").appendingPathComponent("kvd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // kvd refuses a world-writable socket directory; do not depend on the caller's umask.
        chmod(base.path, 0o755)
        root = base
        socketPath = base.appendingPathComponent("kvd.sock").path
        dataPath = base.appendingPathComponent("data").path
        logPath = base.appendingPathComponent("kvd.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        self.extraArguments = extraArguments
    }

    /// Starts kvd and waits until its socket accepts connections (at most `timeout` seconds).
    /// `launcher`: a command that execs kvd in place (e.g. `unshare -U --map-root-user`), so
    /// `pid` is still kvd's.
    func start(arguments: [String] = [], environment: [String: String] = [:], timeout: Double = 20, launcher: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.kvdPath) else {
            throw HarnessError("kvd binary not found at \(Self.kvdPath); build the package first")
        }
        let process = Process()
        let command = launcher + [Self.kvdPath, "serve", "--socket", socketPath, "--data", dataPath] + extraArguments + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw HarnessError("kvd exited with status \(process.terminationStatus) during start-up:\n\(log_())")
            }
            if let connection = try? RawConnection(path: socketPath) {
                connection.close()
                return
            }
            usleep(20_000)
        }
        throw HarnessError("kvd did not listen on \(socketPath) within \(timeout) s:\n\(log_())")
    }

    /// The daemon's log so far.
    func log_() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Process id of the running daemon.
    var pid: Int32 { process?.processIdentifier ?? -1 }

    /// Sends `signal` and waits for the process to exit; returns its termination status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Double = 30) throws -> Int32 {
        guard let process else { return 0 }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HarnessError("kvd did not exit within \(timeout) s after signal \(signal)")
        }
        self.process = nil
        return process.terminationStatus
    }

    /// Resident set size of the daemon, in KiB, from /proc/PID/status (VmRSS).
    func residentKiB() throws -> Int { try status("VmRSS") }

    /// The largest resident set size the daemon has had, in KiB (VmHWM).
    func peakResidentKiB() throws -> Int { try status("VmHWM") }

    /// A `kB` field of /proc/PID/status.
    private func status(_ field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            if let digits { return digits }
        }
        throw HarnessError("no \(field) in /proc/\(pid)/status")
    }

    /// Stops the daemon if running (SIGKILL) and removes the temporary directory.
    func cleanUp() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
        try? FileManager.default.removeItem(at: root)
    }

    deinit { cleanUp() }
}

/// A failure of the test harness itself (not of the daemon under test).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import KVClient
#if canImport(Glibc)
import Glibc
#endif

/// One `kvd serve` child process of the crash driver: started on a fixed socket and data
/// directory, killed without warning, started again.
final class CrashDaemon {
    /// The kvd executable.
    let binary: String
    /// Socket path (≤ 107 bytes).
    let socketPath: String
    /// Data directory, kept across restarts.
    let dataPath: String
    /// Flags added to `serve --socket … --data …` on every start.
    let arguments: [String]
    /// Extra environment of every start (the power-loss interposer's, or empty).
    let environment: [String: String]
    /// Where kvd's stderr/stdout go, appended across restarts.
    let logPath: String
    private var process: Process?

    init(binary: String, socketPath: String, dataPath: String, arguments: [String], environment: [String: String], logPath: String) {
        self.binary = binary
        self.socketPath = socketPath
        self.dataPath = dataPath
        self.arguments = arguments
        self.environment = environment
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    /// Starts kvd and connects to it, retrying until it accepts the handshake (at most
    /// `timeout` seconds; no fixed wait).
    /// - Throws: ``CrashCycleError/daemonFailed(_:)`` when kvd exits or does not answer in time.
    func start(timeout: Double = 60) async throws -> KVClient {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--socket", socketPath, "--data", dataPath] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw CrashCycleError.daemonFailed("cannot open \(logPath)") }
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw CrashCycleError.daemonFailed("kvd exited with status \(process.terminationStatus) during start-up; log: \(logPath)")
            }
            if let client = try? await KVClient.connect(socketPath: socketPath) { return client }
            try await Task.sleep(nanoseconds: 5_000_000)  // poll interval while kvd opens its store
        }
        throw CrashCycleError.daemonFailed("kvd did not answer on \(socketPath) within \(timeout) s; log: \(logPath)")
    }

    /// Sends `signal` and waits until the process has exited; returns its termination status.
    @discardableResult
    func stop(signal: Int32) -> Int32 {
        guard let process else { return 0 }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Replaces the data files by the durable images the power-loss interposer
/// (`Tests/PowerLoss/powerloss.c`) kept: what a machine that lost power would find on its disk.
/// kvd must be dead.
struct CrashPowerLoss {
    /// The compiled interposer.
    let library: String
    /// The directory of the images.
    let imagesPath: String
    /// The data directory.
    let dataPath: String

    /// The environment that loads the interposer into kvd.
    var environment: [String: String] {
        ["LD_PRELOAD": library, "POWERLOSS_DATA_DIR": dataPath, "POWERLOSS_SHADOW_DIR": imagesPath]
    }

    /// Copies every image over its data file.
    func loseUnflushedWrites() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: imagesPath) {
            let image = try Data(contentsOf: URL(fileURLWithPath: imagesPath + "/" + name))
            let target = URL(fileURLWithPath: dataPath + "/" + name)
            try image.write(to: target, options: .atomic)
            chmod(target.path, 0o600)
        }
    }
}

/// Why a crash run could not go on (a lost block is a figure, not an error).
enum CrashCycleError: Error, CustomStringConvertible {
    /// kvd did not start, exited, or did not answer.
    case daemonFailed(String)
    /// A call that must succeed on a running daemon failed.
    case call(String, KVClientError)

    var description: String {
        switch self {
        case .daemonFailed(let message): message
        case .call(let what, let error): "\(what): \(error)"
        }
    }
}

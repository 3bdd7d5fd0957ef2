import Foundation
import KVClient
import KVDaemon
import LanguageModel
import Logging
import Synchronization

/// An in-process kvd for `actqkv run` without `--socket`: the same server as `kvd serve`, on
/// `<directory>/kvd.sock` with its store in `<directory>/data`. Default directory:
/// `${ACTQKV_CACHE:-~/.cache/actqkv}/kvd`.
final class EmbeddedDaemon: Sendable {
    let socketPath: String
    private let server: DaemonServer
    private let runTask: Task<Void, any Error>

    static var defaultDirectory: String { KnownModel.cacheDirectory + "/kvd" }

    init(directory: String, fixedTopK: Int) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/kvd.sock"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: directory + "/data")
        configuration.fixedTopK = fixedTopK
        try configuration.validate()
        var logger = Logger(label: "actqkv.kvd")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        let failure = FailureBox()
        runTask = Task {
            do { try await server.run() } catch { failure.set("\(error)"); throw error }
        }
        for _ in 0..<1500 {
            if let client = try? await KVClient.connect(socketPath: socketPath) {
                client.close()
                return
            }
            // A server that cannot start (e.g. another kvd holds the data directory) ends at once.
            if let reason = failure.get() { throw ValidationErrorText("the embedded kvd could not start on \(directory): \(reason)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.shutdown()
        _ = await runTask.result
        throw ValidationErrorText("the embedded kvd did not start on \(socketPath)")
    }

    func stop() async {
        server.shutdown()
        _ = await runTask.result
    }
}

/// The kvd a command's block methods use: the one at `--socket`, else an embedded one on
/// `--data-dir` (default ``EmbeddedDaemon/defaultDirectory``). `run`, `eval` and `eval ruler`
/// open it the same way and close it when done.
struct KVDConnection {
    let client: KVClient
    /// The embedded daemon this process started (nil with `--socket`).
    let embedded: EmbeddedDaemon?

    /// Connects to `socket`, or starts an embedded kvd (retrieving `fixedTopK` blocks) and connects
    /// to it. A failed connection stops the embedded kvd and throws ``Unreachable``.
    static func open(socket: String?, dataDir: String?, fixedTopK: Int) async throws -> KVDConnection {
        var embedded: EmbeddedDaemon?
        let socketPath: String
        if let socket { socketPath = socket } else {
            let d = try await EmbeddedDaemon(directory: dataDir ?? EmbeddedDaemon.defaultDirectory, fixedTopK: fixedTopK)
            embedded = d
            socketPath = d.socketPath
        }
        do { return KVDConnection(client: try await KVClient.connect(socketPath: socketPath), embedded: embedded) } catch {
            await embedded?.stop()
            throw Unreachable(reason: "\(error)")
        }
    }

    /// Closes the client, then stops the embedded kvd.
    func close() async {
        client.close()
        await embedded?.stop()
    }

    /// The connection to kvd failed.
    struct Unreachable: Error, CustomStringConvertible {
        let reason: String
        var description: String { "cannot reach kvd: \(reason)" }
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

private final class FailureBox: Sendable {
    private let value = Mutex<String?>(nil)
    func set(_ s: String) { value.withLock { $0 = s } }
    func get() -> String? { value.withLock { $0 } }
}

import Foundation
import KVClient
import KVDaemon
import KVStore
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

    /// - Parameter capacity: kvd's `--capacity` (bytes of blocks and checkpoints; above it the
    ///   least recently used sessions not held open are evicted); nil: none.
    ///   - durability: kvd's `--durability` (default sync, kvd's default).
    init(directory: String, retrievalTokens: Int, budgetGrowth: Int, capacity: Int? = nil, durability: Durability = .sync) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/kvd.sock"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: directory + "/data")
        configuration.retrievalTokens = retrievalTokens
        configuration.budgetGrowth = budgetGrowth
        configuration.store.capacity = capacity
        configuration.store.durability = durability
        try configuration.validate()
        var logger = Logger(label: "actqkv.kvd")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        let failure = FailureBox()
        runTask = Task {
            do { try await server.run() } catch { failure.set("\(error)"); throw error }
        }
        // Short handshakes: the socket may be another kvd's that does not answer (stopped).
        let probe = KVClientConfiguration(handshakeTimeout: .seconds(2))
        for _ in 0..<1500 {
            // A server that cannot start (e.g. another kvd holds the data directory) ends at once.
            if let reason = failure.get() { throw ValidationErrorText("the embedded kvd could not start on \(directory): \(reason)") }
            if let client = try? await KVClient.connect(socketPath: socketPath, configuration: probe) {
                client.close()
                return
            }
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

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

private final class FailureBox: Sendable {
    private let value = Mutex<String?>(nil)
    func set(_ s: String) { value.withLock { $0 = s } }
    func get() -> String? { value.withLock { $0 } }
}

import Foundation
import KVClient
import KVDaemon
import Logging

/// A real kvd (KVDaemon's server over LMDB) in this test process, on a temporary socket and data
/// directory.
final class InProcessKVD: Sendable {
    let root: String
    let socketPath: String
    let server: DaemonServer
    private let runTask: Task<Void, any Error>

    init(fixedTopK: Int = 46) async throws {
        let root = NSTemporaryDirectory() + "lc-kvd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.root = root
        socketPath = root + "/kvd.sock"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: root + "/data")
        configuration.fixedTopK = fixedTopK
        configuration.store.mapSize = 1 << 30
        var logger = Logger(label: "kvd-longcontext-test")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        runTask = Task { try await server.run() }
        for _ in 0..<1500 {
            if let client = try? await KVClient.connect(socketPath: socketPath) {
                client.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.shutdown()
        _ = await runTask.result
        throw CancellationError()
    }

    func connect() async throws -> KVClient { try await KVClient.connect(socketPath: socketPath) }

    func stop() async {
        server.shutdown()
        _ = await runTask.result
        try? FileManager.default.removeItem(atPath: root)
    }
}

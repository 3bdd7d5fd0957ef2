import CoreTypes
import Foundation
@testable import KVClient
import KVDaemon
import Logging

/// A real kvd server (KVDaemon's `DaemonServer`, LMDB store) running in this process on a
/// temporary socket and data directory.
final class TestDaemon: Sendable {
    let root: String
    let socketPath: String
    let dataPath: String
    let server: DaemonServer
    private let runTask: Task<Void, any Error>
    private let watched = Locked<[KVClient]>([])
    private let watchdog = Locked<Task<Void, Never>?>(nil)

    /// Includes `client`'s connection state in the hang report.
    func watch(_ client: KVClient) { watched.withLock { $0.append(client) } }

    /// Starts a server; `directory` reuses an earlier daemon's socket and data (restart).
    init(directory: String? = nil, maximumBlocksPerRequest: Int = 4096, fixedTopK: Int = 4, name: String = #function) async throws {
        let root = directory ?? NSTemporaryDirectory() + "kvclient-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.root = root
        socketPath = root + "/kvd.sock"
        dataPath = root + "/data"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: dataPath)
        configuration.maximumBlocksPerRequest = maximumBlocksPerRequest
        configuration.fixedTopK = fixedTopK
        configuration.store.mapSize = 1 << 30
        var logger = Logger(label: "kvd-test")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        runTask = Task { try await server.run() }
        // Wait until it answers a handshake (at most 30 s).
        for _ in 0..<1500 {
            if let client = try? await KVClient.connect(socketPath: socketPath) {
                client.close()
                let socketPath = self.socketPath
                let watched = self.watched
                let dog = Task {
                    do {
                        try await Task.sleep(for: .seconds(45))
                    } catch {
                        return
                    }
                    var report = "WATCHDOG \(name): clients " + watched.withLock { $0.map(\.debugSummary) }.joined(separator: "; ")
                    if let probe = try? await KVClient.connect(socketPath: socketPath), let stats = try? await probe.stats() {
                        report += " | daemon requests=\(stats.requests) errors=\(stats.errors) connections=\(stats.connections) counters=\(stats.counters.map { "\($0.name)=\($0.value)" })"
                        probe.close()
                    } else {
                        report += " | daemon does not answer"
                    }
                    FileHandle.standardError.write(Data((report + "\n").utf8))
                }
                watchdog.withLock { $0 = dog }
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.shutdown()
        _ = await runTask.result
        throw CancellationError()
    }

    /// Graceful shutdown; returns when the server has closed its store and socket.
    func stop() async throws {
        watchdog.withLock { $0?.cancel() }
        server.shutdown()
        try await runTask.value
    }

    func removeFiles() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// A small model shape (SmolLM2's heads, fewer layers and tokens per block).
let testDescriptor = ModelDescriptor(
    layers: 4, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 8, fingerprint: 0x5EED_CAFE)

/// Deterministic, non-zero blocks for `layer` at `positions`.
func makeBlocks(layer: UInt16, positions: Range<UInt32>, seed: UInt64) -> [BlockRecord] {
    var state = seed &+ UInt64(layer) &* 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }
    return positions.map { position in
        let key = (0..<testDescriptor.vectorDimension).map { _ in Float(Int(next() % 2001) - 1000) / 250 + 0.001 }
        let payload = (0..<testDescriptor.payloadBytes).map { _ in UInt8(truncatingIfNeeded: next() | 1) }
        return BlockRecord(
            layer: layer, position: position, prefixHash: PrefixHash(high: UInt64(layer), low: UInt64(position) &+ seed),
            representativeKey: key, payload: payload[...])
    }
}

/// Fails the test instead of hanging: runs `body`, or throws after `seconds`.
func withHangGuard<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw HangError()
        }
        group.cancelAll()
        return value
    }
}

struct HangError: Error, CustomStringConvertible {
    var description: String { "the operation hung" }
}


/// A flag claimed once: `claim()` is true for its first caller only. Tests fire an event (a
/// shutdown, a kill, a close, a cancel) from whichever task first sees the condition it waits
/// for, instead of after a fixed delay.
final class OneShot: Sendable {
    private let claimed = Locked(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }

    var isClaimed: Bool { claimed.withLock { $0 } }
}

import CoreTypes
import Foundation
import KVClient
import Logging
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

/// A real `DaemonServer` (NIO listener, real LMDB store) running in the test process on a
/// temporary socket and data directory.
final class InProcessDaemon: Sendable {
    let root: String
    let socketPath: String
    let server: DaemonServer
    let task: Task<Void, any Error>

    init(configure: (inout DaemonConfiguration) -> Void = { _ in }) async throws {
        root = "/tmp/kvd-unit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        socketPath = root + "/kvd.sock"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: root + "/data")
        configuration.store.durability = .none
        configure(&configuration)
        var logger = Logger(label: "kvd-test")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        task = Task { try await server.run() }
        for _ in 0..<500 {
            if SocketFile.isLive(path: socketPath) { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        throw DaemonError.invalidConfiguration("in-process daemon did not start")
    }

    func connect() async throws -> KVClient { try await KVClient.connect(socketPath: socketPath) }

    /// Graceful shutdown; returns once the store is closed and the socket removed.
    func stop() async throws {
        server.shutdown()
        try await task.value
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// A small model shape and deterministic non-zero blocks for it.
enum Shapes {
    static let tiny = ModelDescriptor(layers: 3, queryHeads: 4, kvHeads: 2, headDim: 8, elementType: .fp16, blockSize: 4, fingerprint: 99)

    static func block(layer: Int, position: Int, seed: UInt64 = 1) -> BlockRecord {
        let d = tiny
        var x = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(layer * 1000 + position)
        func next() -> UInt64 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return x >> 33
        }
        return BlockRecord(
            layer: UInt16(layer), position: UInt32(position), prefixHash: PrefixHash(high: seed, low: UInt64(layer * 1000 + position)),
            representativeKey: (0..<d.vectorDimension).map { _ in Float(Int(next() % 2001) - 1000) / 1000 },
            payload: (0..<d.payloadBytes).map { _ in UInt8(truncatingIfNeeded: next()) }[...])
    }
}

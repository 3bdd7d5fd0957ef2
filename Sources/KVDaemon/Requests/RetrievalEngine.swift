import ActQKV
import CoreTypes
import Protocol
import Synchronization

/// Per-session retrieval state and block selection for `retrieve`, delegated to the ActQKV
/// module (block scoring, score entropy, density histories, per-layer budget allocation, top-k —
/// no algorithm math here).
///
/// The selection state of a session (ActQKV's `SelectionState`, shared by its layers: density
/// histories, chunk pools; the activation statistics are the worker's) lives here while the
/// daemon runs, so any connection attached to the session continues where the last one stopped;
/// `putCheckpoint` snapshots it into the checkpoint slot and `getCheckpoint(restore:)` puts a
/// snapshot back. Selections of one session are serialised
/// (its state is updated by each); different sessions select in parallel.
final class RetrievalEngine: Sendable {
    /// The retrieval budget in tokens per layer per chunk: K·b, so K = budget / b for a session
    /// of b-token blocks (the fixed count of `infllm`, each layer's share of the ActQKV pool).
    let retrievalTokens: Int
    /// g: a layer of N blocks gets K = max(budget / b, ⌈N/g⌉) blocks (0: a fixed budget;
    /// `RetrievalConfig.grown(blocks:growth:)`).
    let budgetGrowth: Int
    /// Keyed by the store's session id, never reused: a session dropped or evicted and created
    /// again under the same name (by anyone) starts with a fresh state.
    private let sessions = Mutex([UInt64: SessionRetrieval]())

    /// One session's state behind its own lock.
    private final class SessionRetrieval: Sendable {
        let state: Mutex<SelectionState>
        init(_ state: SelectionState) { self.state = Mutex(state) }
    }

    init(retrievalTokens: Int, budgetGrowth: Int) {
        self.retrievalTokens = retrievalTokens
        self.budgetGrowth = budgetGrowth
    }

    /// The algorithm configuration for a session's model: the documented defaults scaled to the
    /// session's block size and the daemon's budget (`RetrievalConfig(blockSize:retrievalTokens:)`).
    func configuration(blockSize: Int) -> RetrievalConfig {
        RetrievalConfig(blockSize: blockSize, retrievalTokens: retrievalTokens)
    }

    /// Checks that the budget gives a valid configuration: at least one token.
    func validate() throws {
        guard retrievalTokens >= 1 else { throw ConfigError.notPositive(.topK, value: retrievalTokens) }
        guard budgetGrowth >= 0 else { throw ConfigError.notPositive(.topK, value: budgetGrowth) }
        try configuration(blockSize: 32).validate()
    }

    /// Chooses blocks of one layer among `count` representative keys (`count × D` floats,
    /// row-major, D = the probe's length), updating the session's state.
    func select(
        session: UInt64, layers: Int, blockSize: Int, request: RetrieveRequest, keys: UnsafeBufferPointer<Float>, count: Int
    ) throws -> LayerSelection {
        let entry = try sessions.withLock { map -> SessionRetrieval in
            if let entry = map[session] { return entry }
            var state = try SelectionState(config: configuration(blockSize: blockSize), layers: layers)
            state.budgetGrowth = budgetGrowth
            let entry = SessionRetrieval(state)
            map[session] = entry
            return entry
        }
        return try request.probe.withUnsafeBufferPointer { probe in
            try Self.withOptionalBuffer(request.question?.vector) { question in
                try entry.state.withLock { state in
                    do {
                        return try state.select(
                            layer: Int(request.layer), chunk: request.chunkSequence, mode: request.mode, method: request.method,
                            probe: probe, question: question, questionWeight: request.question?.weight,
                            keys: keys, count: count)
                    } catch let error as SelectionError {
                        throw Self.protocolError(for: error)
                    }
                }
            }
        }
    }

    /// Snapshot of a session's retrieval state (empty when it has none yet).
    func snapshot(session: UInt64) -> [UInt8] {
        guard let entry = sessions.withLock({ $0[session] }) else { return [] }
        return entry.state.withLock { $0.encoded() }
    }

    /// Replaces a session's retrieval state with a snapshot (an empty snapshot forgets it). A
    /// snapshot of the previous release (a whole "AQRS" retrieval state) is migrated by
    /// `SelectionState(decoding:)`.
    func restore(session: UInt64, state bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return forget(session: session) }
        var state: SelectionState
        do {
            state = try SelectionState(decoding: bytes)
        } catch {
            throw ProtocolError(.storageError, "stored retrieval state cannot be decoded: \(error) (code \(error.code))")
        }
        state.budgetGrowth = budgetGrowth
        sessions.withLock { $0[session] = SessionRetrieval(state) }
    }

    /// Forgets a dropped session.
    func forget(session: UInt64) { _ = sessions.withLock { $0.removeValue(forKey: session) } }

    /// Forgets every session not in `live` (sessions the store evicted).
    func forgetAll(except live: Set<UInt64>) {
        sessions.withLock { map in map = map.filter { live.contains($0.key) } }
    }

    /// Sessions with a retrieval state.
    var count: Int { sessions.withLock { $0.count } }

    private static func withOptionalBuffer<R>(_ values: [Float]?, _ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        guard let values else { return try body(nil) }
        return try values.withUnsafeBufferPointer { try body($0) }
    }

    /// Maps the algorithm's typed errors to the wire's codes.
    static func protocolError(for error: SelectionError) -> ProtocolError {
        switch error {
        case .layerOutOfRange: ProtocolError(.badPosition, "\(error)")
        case .keysSizeMismatch, .questionSizeMismatch, .queriesSizeMismatch, .widthMismatch: ProtocolError(.wrongDimensions, "\(error)")
        case .emptyProbe, .negativeCount, .invalidQuestionWeight: ProtocolError(.badArgument, "\(error)")
        }
    }
}

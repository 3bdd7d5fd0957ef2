import Protocol
import Synchronization

/// Per-session retrieval state and block selection for `retrieve`.
///
/// The state of a session (shared by its layers) lives here while the daemon runs, so any
/// connection attached to the session continues where the last one stopped; `putCheckpoint`
/// snapshots it into the checkpoint slot and `getCheckpoint(restore:)` puts a snapshot back.
/// Selection is delegated: today to `PlainTopKFallback` (until ActQKV's allocator is on main),
/// which is stateless, so the state blob stays empty.
final class RetrievalEngine: Sendable {
    /// Blocks chosen per layer by the fixed top-K methods (InfLLM's K; ALGORITHM.md K_cfg).
    let fixedTopK: Int
    private let states = Mutex([String: [UInt8]]())

    init(fixedTopK: Int) {
        self.fixedTopK = fixedTopK
    }

    /// The outcome of one selection.
    struct Selection {
        /// Blocks granted to the layer (k_ℓ).
        var k: Int
        /// Indices into the layer's block list, best score first.
        var chosen: [Int]
        /// Softmax entropy of the scores in nats (0 when not computed).
        var entropy: Float
        /// Normalised entropy ρ (0 when not computed).
        var density: Float
    }

    /// Chooses blocks of one layer for `request` among `count` representative keys
    /// (`count × probe.count` floats, row-major).
    func select(
        session: String, request: RetrieveRequest, keys: UnsafeBufferPointer<Float>, count: Int
    ) -> Selection {
        switch request.method {
        case .dense:
            return Selection(k: count, chosen: Array(0..<count), entropy: 0, density: 0)
        case .infllm, .actqkv, .activateOnly, .dynamicOnly:
            let chosen = PlainTopKFallback.select(
                keys: keys, count: count, dimension: request.probe.count, probe: request.probe, k: fixedTopK)
            return Selection(k: fixedTopK, chosen: chosen, entropy: 0, density: 0)
        }
    }

    /// Snapshot of a session's retrieval state (empty when it has none).
    func snapshot(session: String) -> [UInt8] { states.withLock { $0[session] ?? [] } }

    /// Replaces a session's retrieval state with a snapshot.
    func restore(session: String, state: [UInt8]) {
        states.withLock { $0[session] = state.isEmpty ? nil : state }
    }

    /// Forgets a dropped session.
    func forget(session: String) { _ = states.withLock { $0.removeValue(forKey: session) } }
}

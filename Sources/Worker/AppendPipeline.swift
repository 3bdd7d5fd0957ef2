import KVClient
import Protocol
import Synchronization

/// Pipelined `appendBlocks`: ``enqueue(session:records:)`` returns as soon as the request is in
/// the connection's write queue (so every later request of the worker is executed after it,
/// PROTOCOL.md §5) without waiting for the acknowledgement; ``drain()`` waits for every
/// acknowledgement and reports the first failure. A checkpoint is written only after a drain,
/// so it never claims a block kvd has not acknowledged.
final class AppendPipeline: Sendable {
    private struct State {
        var tasks: [Task<Void, Never>] = []
        var failure: KVClientError?
        var acknowledged = 0
    }

    let client: KVClient
    private let state = Mutex(State())

    init(client: KVClient) { self.client = client }

    /// Blocks acknowledged so far.
    var acknowledged: Int { state.withLock { $0.acknowledged } }

    /// Sends one append without waiting for its reply; the frame is in the write queue when this
    /// returns (``KVClient/submitAppendBlocks(session:blocks:)`` queues before returning).
    func enqueue(session: String, records: [BlockRecord]) async {
        let pending = client.submitAppendBlocks(session: session, blocks: records)
        let task = Task { [self] in
            do throws(KVClientError) {
                let ids = try await pending.value()
                state.withLock { $0.acknowledged += ids.count }
            } catch {
                state.withLock { if $0.failure == nil { $0.failure = error } }
            }
        }
        state.withLock { $0.tasks.append(task) }
    }

    /// Throws the first failed append, if any, without waiting.
    func check() throws(LongContextError) {
        if let failure = state.withLock({ $0.failure }) { throw .daemon(operation: "appendBlocks", failure) }
    }

    /// Waits for every append sent so far; throws the first failure.
    func drain() async throws(LongContextError) {
        let tasks = state.withLock { s -> [Task<Void, Never>] in defer { s.tasks.removeAll() }; return s.tasks }
        for t in tasks { await t.value }
        try check()
    }
}

import CoreTypes
import Synchronization

/// A write request queued for the writer thread and not necessarily committed yet: the handle
/// ``KVStore/submit(_:)`` returns, and what ``StoreCore/write(_:)`` waits on.
///
/// The request is in the writer's FIFO queue when the handle exists, so a request submitted
/// later is committed in the same group commit or a later one, and applied after it. The
/// result is set exactly once, after the transaction holding the request committed (durable per
/// the store's ``Durability``) or failed; any number of tasks may wait for it.
public final class PendingWrite: Sendable {
    private struct State {
        var result: Result<WriteOutcome, StoreError>?
        var waiters: [CheckedContinuation<Result<WriteOutcome, StoreError>, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    /// True once the request committed or failed (``outcome()`` would not wait).
    public var isComplete: Bool { state.withLock { $0.result != nil } }

    /// Sets the result and resumes every waiter; later calls are ignored.
    func complete(_ result: Result<WriteOutcome, StoreError>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Result<WriteOutcome, StoreError>, Never>] in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// Waits until the request committed or failed; returns its result.
    func outcome() async -> Result<WriteOutcome, StoreError> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Result<WriteOutcome, StoreError>? in
                if let result = s.result { return result }
                s.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for the commit of an append and returns the ids of its blocks, in request order.
    /// Throws what the append failed with (nothing of it was written then).
    public func appendedIDs() async throws(StoreError) -> [BlockID] {
        guard case let .ids(ids) = try await outcome().get() else { throw .corrupt }
        return ids
    }
}

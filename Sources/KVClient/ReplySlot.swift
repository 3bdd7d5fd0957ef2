import Protocol

/// The future reply of one request: completed once by the I/O thread (or by a failure or a
/// cancellation), awaited at most once by the caller. A reply that arrives before anyone waits
/// is kept until it is taken.
final class ReplySlot: Sendable {
    typealias Outcome = Result<Message, KVClientError>

    private struct State {
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
    }

    private let state = Locked(State())

    /// Creates a slot, already completed with `outcome` if given.
    init(completed outcome: Outcome? = nil) {
        if let outcome { state.withLock { $0.outcome = outcome } }
    }

    /// Completes the slot; later completions are ignored.
    func complete(_ outcome: Outcome) {
        let waiter = state.withLock { s -> CheckedContinuation<Outcome, Never>? in
            guard s.outcome == nil else { return nil }
            s.outcome = outcome
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// Whether an outcome is already there (a `wait()` would not suspend).
    var isCompleted: Bool { state.withLock { $0.outcome != nil } }

    /// Waits for the outcome.
    func wait() async -> Outcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Outcome? in
                if let outcome = s.outcome { return outcome }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

import Synchronization

/// First come, first served access to the model: one request computes at a time (the forward
/// pass already uses every core), the others wait in arrival order; at most `maxWaiting` wait.
final class RequestQueue: Sendable {
    private struct State {
        var busy = false
        /// Resumed with nil when it is the waiter's turn.
        var waiting: [CheckedContinuation<Int?, Never>] = []
    }
    private let state = Mutex(State())
    let maxWaiting: Int

    init(maxWaiting: Int) { self.maxWaiting = maxWaiting }

    /// Requests waiting now (not counting the one computing).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Runs `body` when it is this caller's turn.
    /// - Throws: ``ServeError/overloaded(queued:)`` at once when `maxWaiting` callers already wait.
    func withTurn<T>(_ body: () async throws(ServeError) -> T) async throws(ServeError) -> T {
        // Deciding and enqueueing under one lock: a release in between cannot be missed.
        let full: Int? = await withCheckedContinuation { (c: CheckedContinuation<Int?, Never>) in
            let (now, full): (Bool, Int?) = state.withLock { s in
                if !s.busy { s.busy = true; return (true, nil) }
                if s.waiting.count >= maxWaiting { return (true, s.waiting.count) }
                s.waiting.append(c)
                return (false, nil)
            }
            if now { c.resume(returning: full) }
        }
        if let full { throw .overloaded(queued: full) }
        defer { release() }
        return try await body()
    }

    /// Hands the turn to the longest waiter, else marks the model free.
    private func release() {
        let next: CheckedContinuation<Int?, Never>? = state.withLock { s in
            if s.waiting.isEmpty { s.busy = false; return nil }
            return s.waiting.removeFirst()
        }
        next?.resume(returning: nil)
    }
}

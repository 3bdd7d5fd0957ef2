import Synchronization

/// Fair access to the model: at most `maxActive` requests are in progress at once (each holds its
/// worker state), and among them one computes at a time (the forward pass already uses every
/// core), handing the model to the next in line after each of its steps (``Turn/yield()``: an
/// execution chunk of the prompt or one generated token), so a short request is not held behind
/// a long one. Requests beyond `maxActive` wait in arrival order; at most `maxWaiting` wait.
final class RequestQueue: Sendable {
    private struct State {
        /// Requests in progress (admitted, computing or waiting for the model).
        var active = 0
        /// Requests waiting to be admitted, in arrival order; resumed with nil when admitted.
        var admission: [CheckedContinuation<Int?, Never>] = []
        /// Whether an admitted request holds the model.
        var computing = false
        /// Admitted requests waiting for the model, in order.
        var model: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    let maxWaiting: Int
    let maxActive: Int

    init(maxWaiting: Int, maxActive: Int = 1) {
        self.maxWaiting = maxWaiting
        self.maxActive = max(1, maxActive)
    }

    /// Requests waiting to be admitted now (not counting those in progress).
    var waitingCount: Int { state.withLock { $0.admission.count } }

    /// Requests in progress now.
    var activeCount: Int { state.withLock { $0.active } }

    /// Requests in progress waiting for the model now.
    var waitingForModel: Int { state.withLock { $0.model.count } }

    /// A request's hold on the model, passed to its body.
    struct Turn: Sendable {
        fileprivate let queue: RequestQueue

        /// Lets the next admitted request waiting for the model compute one step, then continues;
        /// returns at once when none waits.
        func yield() async { await queue.yieldModel() }
    }

    /// Runs `body` once this caller is admitted and holds the model.
    /// - Throws: ``ServeError/overloaded(queued:)`` at once when `maxWaiting` callers already wait.
    func withTurn<T>(_ body: (Turn) async throws(ServeError) -> T) async throws(ServeError) -> T {
        // Deciding and enqueueing under one lock: a release in between cannot be missed.
        let full: Int? = await withCheckedContinuation { (c: CheckedContinuation<Int?, Never>) in
            let (now, full): (Bool, Int?) = state.withLock { s in
                if s.active < maxActive { s.active += 1; return (true, nil) }
                if s.admission.count >= maxWaiting { return (true, s.admission.count) }
                s.admission.append(c)
                return (false, nil)
            }
            if now { c.resume(returning: full) }
        }
        if let full { throw .overloaded(queued: full) }
        await acquireModel()
        defer { release() }
        return try await body(Turn(queue: self))
    }

    private func acquireModel() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if !s.computing { s.computing = true; return true }
                s.model.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    fileprivate func yieldModel() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let next: CheckedContinuation<Void, Never>? = state.withLock { s in
                guard !s.model.isEmpty else { return nil }
                s.model.append(c)
                return s.model.removeFirst()
            }
            if let next { next.resume() } else { c.resume() }
        }
    }

    /// Hands the model to the next admitted request waiting for it, and this request's place to
    /// the longest waiter for admission.
    private func release() {
        let (model, admitted): (CheckedContinuation<Void, Never>?, CheckedContinuation<Int?, Never>?) = state.withLock { s in
            let model: CheckedContinuation<Void, Never>?
            if s.model.isEmpty { s.computing = false; model = nil } else { model = s.model.removeFirst() }
            let admitted: CheckedContinuation<Int?, Never>?
            if s.admission.isEmpty { s.active -= 1; admitted = nil } else { admitted = s.admission.removeFirst() }
            return (model, admitted)
        }
        model?.resume()
        admitted?.resume(returning: nil)
    }
}

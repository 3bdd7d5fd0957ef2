import Foundation

/// The flusher of `.periodic` durability: a background thread that flushes the map to disk
/// (`mdb_env_sync`) at most once per interval, and only when something was committed since the
/// last flush — so group commits never wait for a flush.
///
/// A commit is covered by a flush if it completed before its ``markDirty()``, which happens
/// before the flusher clears the flag and calls `fdatasync`.
final class PeriodicFlusher: @unchecked Sendable {
    private let interval: TimeInterval
    private let lmdb: LMDBEnvironment
    private let flushed: @Sendable () -> Void
    private let condition = NSCondition()
    private var dirty = false
    private var stopping = false
    private var finished = false
    private var waitingForCommit = false

    /// Whether the thread is blocked until the next ``markDirty()`` (it has flushed everything
    /// committed so far), so it cannot flush again before another commit. For tests, which wait
    /// for this state instead of watching the clock.
    var isWaitingForCommit: Bool {
        condition.lock()
        defer { condition.unlock() }
        return waitingForCommit && !dirty  // a commit marked before the thread woke is not waited for
    }

    /// Starts the thread; `flushed` runs after each successful flush.
    init(interval: TimeInterval, lmdb: LMDBEnvironment, flushed: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.lmdb = lmdb
        self.flushed = flushed
        let thread = Thread { [self] in run() }
        thread.name = "kvstore-flusher"
        thread.start()
    }

    /// Notes that a commit completed (called by the writer after each commit).
    func markDirty() {
        condition.lock()
        dirty = true
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread and waits for it (a flush in progress completes first).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var lastFlush = Date.distantPast
        condition.lock()
        while !stopping {
            if !dirty {
                waitingForCommit = true
                condition.wait()
                waitingForCommit = false
                continue
            }
            let due = lastFlush.addingTimeInterval(interval)
            if Date() < due {
                _ = condition.wait(until: due)
                continue
            }
            dirty = false
            condition.unlock()
            let ok = (try? lmdb.sync()) != nil
            lastFlush = Date()
            if ok { flushed() }
            condition.lock()
            if !ok { dirty = true }  // retried next period; the commits themselves succeeded
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}

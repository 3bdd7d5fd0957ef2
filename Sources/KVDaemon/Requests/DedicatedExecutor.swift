import Foundation

/// A `TaskExecutor` (SE-0417) over a few threads of its own, apart from Swift's cooperative
/// pool. kvd executes its requests on one (``DaemonServer/run()``, `requestThreads` threads), so
/// a process that embeds the daemon (`actqkv run`, the tests) and keeps the cooperative pool
/// busy cannot delay its replies; the tests run clients on one where a client must not wait
/// for the pool either.
///
/// A task that prefers it (`withTaskExecutorPreference`, `Task(executorPreference:)`) runs its
/// nonisolated code, its child tasks and the default actors it calls here, and every
/// continuation it awaits resumes here. Jobs run in the order they were enqueued, on whichever
/// thread is free: not a serial executor (a connection's tasks and the store's child tasks run
/// in parallel, as on the cooperative pool); task priorities are not used. An idle thread
/// sleeps on a condition variable.
public final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    /// Number of threads.
    public let threadCount: Int

    // Guarded by `condition`.
    private let condition = NSCondition()
    /// Jobs not yet taken, oldest at `head` (the array is compacted once `head` passes half).
    private var jobs: [UnownedJob] = []
    private var head = 0
    /// Threads waiting for a job.
    private var idle = 0
    /// Set by ``shutdown()``: the threads end once the queue is empty.
    private var stopping = false

    /// Starts `threads` (≥ 1) threads named `name-0`, `name-1`, …
    public init(threads: Int, name: String) {
        precondition(threads >= 1, "an executor needs a thread")
        threadCount = threads
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        if idle > 0 { condition.signal() }
        condition.unlock()
    }

    /// Lets the threads end once every job enqueued so far (and any job those enqueue) ran;
    /// returns at once. Call it after the last task that prefers this executor finished.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// One thread: runs jobs until ``shutdown()`` and an empty queue.
    private func work() {
        let executor = asUnownedTaskExecutor()
        while let job = next() {
            job.runSynchronously(on: executor)
        }
    }

    /// The oldest job, waiting for one; nil once stopping with nothing left.
    private func next() -> UnownedJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if stopping { return nil }
            idle += 1
            condition.wait()
            idle -= 1
        }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}

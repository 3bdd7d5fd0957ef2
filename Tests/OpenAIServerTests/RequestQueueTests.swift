import Synchronization
import Testing
@testable import OpenAIServer

/// What the tasks of a test record.
private final class Record: Sendable {
    let order = Mutex<[Int]>([])
    let inside = Mutex(0)
}

@Suite struct RequestQueueTests {
    @Test("one turn at a time, in arrival order")
    func fifo() async throws {
        let queue = RequestQueue(maxWaiting: 10)
        let record = Record()
        let gate = AsyncStream<Void>.makeStream()
        // The first caller holds the turn until released, so the others queue behind it in order.
        let first = Task {
            try await queue.withTurn { @Sendable _ async throws(ServeError) in
                record.order.withLock { $0.append(0) }
                for await _ in gate.stream { break }
            }
        }
        while queue.waitingCount == 0, record.order.withLock({ $0.isEmpty }) { await Task.yield() }
        var others: [Task<Void, any Error>] = []
        for i in 1...4 {
            others.append(Task {
                try await queue.withTurn { @Sendable _ async throws(ServeError) in
                    record.inside.withLock { $0 += 1 }
                    #expect(record.inside.withLock { $0 } == 1)
                    record.order.withLock { $0.append(i) }
                    await Task.yield()
                    record.inside.withLock { $0 -= 1 }
                }
            })
            while queue.waitingCount < i { await Task.yield() }
        }
        gate.continuation.yield()
        try await first.value
        for t in others { try await t.value }
        #expect(record.order.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(queue.waitingCount == 0)
    }

    @Test("a full queue refuses at once with overloaded; the turn is released after a thrown error")
    func full() async throws {
        let queue = RequestQueue(maxWaiting: 1)
        let gate = AsyncStream<Void>.makeStream()
        let record = Record()
        let holder = Task {
            try await queue.withTurn { @Sendable _ async throws(ServeError) in
                record.order.withLock { $0.append(0) }
                for await _ in gate.stream { break }
            }
        }
        while record.order.withLock({ $0.isEmpty }) { await Task.yield() }
        let waiter = Task { try await queue.withTurn { @Sendable _ async throws(ServeError) in 1 } }
        while queue.waitingCount < 1 { await Task.yield() }
        await #expect(throws: ServeError.self) { try await queue.withTurn { @Sendable _ async throws(ServeError) in 2 } }
        gate.continuation.yield()
        try await holder.value
        #expect(try await waiter.value == 1)
        await #expect(throws: ServeError.self) {
            try await queue.withTurn { @Sendable _ async throws(ServeError) in throw .generationFailed("x") }
        }
        #expect(try await queue.withTurn { @Sendable _ async throws(ServeError) in 3 } == 3)
    }

    @Test("requests in progress compute in turns: each step hands the model to the next waiting for it; one beyond maxActive waits to start")
    func turns() async throws {
        let queue = RequestQueue(maxWaiting: 10, maxActive: 2)
        let record = Record()
        let started = AsyncStream<Void>.makeStream()
        // A takes the model and waits until B waits for it, then takes three steps with a yield after each.
        let a = Task {
            try await queue.withTurn { @Sendable turn async throws(ServeError) in
                started.continuation.yield()
                while queue.waitingForModel < 1 { await Task.yield() }
                for step in 0..<3 {
                    // From its second step on, C has arrived and waits to start.
                    while step > 0 && queue.waitingCount < 1 { await Task.yield() }
                    record.order.withLock { $0.append(10 + step) }
                    await turn.yield()
                }
            }
        }
        for await _ in started.stream { break }
        let b = Task {
            try await queue.withTurn { @Sendable turn async throws(ServeError) in
                for step in 0..<3 {
                    record.order.withLock { $0.append(20 + step) }
                    await turn.yield()
                }
            }
        }
        // C arrives while A and B are in progress: it waits to start.
        while queue.activeCount < 2 { await Task.yield() }
        let c = Task { try await queue.withTurn { @Sendable _ async throws(ServeError) in record.order.withLock { $0.append(30) } } }
        while queue.waitingCount < 1 { await Task.yield() }
        try await a.value
        try await b.value
        try await c.value
        // A and B alternate step by step; C starts when one of them has ended.
        #expect(record.order.withLock { $0 } == [10, 20, 11, 21, 12, 22, 30])
        #expect(queue.activeCount == 0 && queue.waitingCount == 0)
    }
}

import CoreTypes
import DaemonTestSupport
import Foundation
import Protocol
import Synchronization
import Testing

/// kvd executes requests on threads of its own (`DedicatedExecutor`), not on the host process's
/// cooperative pool: a host that keeps every pool thread busy does not delay its replies.
@Suite struct CooperativePoolStarvationTests {
    /// Requests of each kind, a few rounds: the handshake and a small retrieve are answered on
    /// the event loop; the others (create, append of 16 blocks encoded in parallel, retrieve
    /// with payloads decoded in parallel, list, fetch) go through the request loop and the store.
    static let rounds = 5

    @Test("with the cooperative pool saturated by CPU-bound tasks, an in-process kvd answers every request within seconds")
    func repliesWhileThePoolIsSaturated() async throws {
        let daemon = try await InProcessDaemon()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let hog = PoolHog()
        // Twice as many spinning tasks as the pool has threads: every thread is held, more wait.
        let hogs = (0..<(2 * max(2, cores))).map { _ in Task.detached { hog.spin() } }

        // The client is a blocking socket on a thread of its own: it needs no pool thread. It
        // starts once the hogs hold every pool thread — or after 10 s, when other tests' tasks
        // hold them (the pool is saturated either way) — and releases the hogs when it is done.
        let outcome = try await onDedicatedThread { () throws -> [Duration] in
            defer { hog.release() }
            _ = hog.waitUntilSpinning(cores, seconds: 10)
            return try Self.exercise(socketPath: daemon.socketPath)
        }
        for task in hogs { await task.value }
        try await daemon.stop()

        #expect(hog.spinning == 0)
        let slowest = outcome.max() ?? .zero
        // The clients' timeouts are 30 s; an unstarved 2-core machine answers in milliseconds.
        #expect(slowest < .seconds(5), "slowest reply \(slowest); replies \(outcome)")
    }

    /// Sends each request and waits for its reply (at most 10 s: a starved daemon fails the
    /// test instead of hanging it); returns how long each took.
    private static func exercise(socketPath: String) throws -> [Duration] {
        let socket = try RawSocket(path: socketPath, receiveTimeoutSeconds: 10)
        let clock = ContinuousClock()
        var durations: [Duration] = []
        var requestID: UInt64 = 0
        func call(_ message: Message) throws -> Message {
            requestID += 1
            let started = clock.now
            socket.send(try message.encodeFrame(requestID: requestID))
            let received: (requestID: UInt64, message: Message)?
            do {
                received = try socket.receiveBlocking()
            } catch {
                throw DaemonTestError("\(message.type): no reply within 10 s (\(error))")
            }
            guard let (id, reply) = received else { throw DaemonTestError("the daemon closed the connection") }
            durations.append(clock.now - started)
            guard id == requestID else { throw DaemonTestError("reply \(id) to request \(requestID)") }
            if case .error(let error) = reply { throw DaemonTestError("\(message.type): \(error)") }
            return reply
        }
        _ = try call(.hello(Hello()))
        _ = try call(.createSession(CreateSession(name: "starved", descriptor: Shapes.tiny)))
        var ids: [BlockID] = []
        for round in 0..<rounds {
            let blocks = (0..<16).map { Shapes.block(layer: 1, position: round * 16 + $0) }
            guard case .appended(let appended) = try call(.appendBlocks(AppendBlocks(session: "starved", blocks: blocks))) else {
                throw DaemonTestError("appendBlocks: unexpected reply")
            }
            ids += appended.ids
            let probe = blocks[0].representativeKey
            for wantPayloads in [true, false] {
                guard case .retrieved(let result) = try call(.retrieve(RetrieveRequest(
                    session: "starved", layer: 1, method: .dense, mode: .prefill, chunkSequence: UInt64(round), probe: probe,
                    wantPayloads: wantPayloads)))
                else { throw DaemonTestError("retrieve: unexpected reply") }
                guard result.totalBlocks == UInt32(ids.count), result.payloads.count == (wantPayloads ? ids.count : 0) else {
                    throw DaemonTestError("retrieve chose \(result.chosen.count) of \(result.totalBlocks), \(result.payloads.count) payloads")
                }
            }
            _ = try call(.listSessions(ListSessions()))
            _ = try call(.fetchBlocks(FetchBlocks(session: "starved", ids: Array(ids.suffix(4)))))
        }
        _ = try call(.statsRequest)
        return durations
    }
}

/// CPU-bound tasks that hold cooperative-pool threads until released (or 120 s passed).
private final class PoolHog: Sendable {
    private let released = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)

    /// Tasks spinning now.
    var spinning: Int { running.load(ordering: .acquiring) }

    /// Spins on the calling thread, never suspending, until ``release()``.
    func spin() {
        running.add(1, ordering: .releasing)
        defer { running.subtract(1, ordering: .releasing) }
        let deadline = ContinuousClock.now + .seconds(120)
        var turns = 0
        while !released.load(ordering: .relaxed) {
            turns &+= 1
            if turns % 1_000_000 == 0 && ContinuousClock.now > deadline { return }
        }
    }

    /// Waits (on a thread that is not the pool's) until `count` tasks spin; false after `seconds`.
    func waitUntilSpinning(_ count: Int, seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while spinning < count {
            if ContinuousClock.now > deadline { return false }
            usleep(1000)
        }
        return true
    }

    func release() { released.store(true, ordering: .releasing) }
}

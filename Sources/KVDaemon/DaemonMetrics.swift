import Synchronization

/// The daemon's counters and request-latency histograms, reported by the `stats` request.
/// Thread-safe; updates take one uncontended lock.
final class DaemonMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds (the last bucket is +∞).
    static let bucketBounds: [Double] = [
        10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3,
        100e-3, 200e-3, 500e-3, 1, .infinity,
    ]

    /// One latency histogram: per-bucket (non-cumulative) counts and the sum of observations.
    struct Histogram: Sendable {
        var counts = [UInt64](repeating: 0, count: DaemonMetrics.bucketBounds.count)
        var sumSeconds: Double = 0

        mutating func observe(_ seconds: Double) {
            let index = DaemonMetrics.bucketBounds.firstIndex { seconds <= $0 } ?? (counts.count - 1)
            counts[index] += 1
            sumSeconds += seconds
        }
    }

    private struct State {
        var counters: [String: UInt64] = [:]
        var histograms: [String: Histogram] = [:]
        var openConnections = 0
        var requests: UInt64 = 0
        var errors: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Monotonic start time, in nanoseconds.
    let startedAt = ContinuousClock.now

    /// Adds `amount` to the counter `name`.
    func add(_ name: String, _ amount: UInt64 = 1) {
        state.withLock { $0.counters[name, default: 0] &+= amount }
    }

    /// Records one request of kind `name` that took `seconds`; `failed` counts it as an error.
    func request(_ name: String, seconds: Double, failed: Bool) {
        state.withLock { state in
            state.requests &+= 1
            if failed { state.errors &+= 1 }
            state.histograms[name, default: Histogram()].observe(seconds)
        }
    }

    /// Counts an error reply with its code name (also for errors outside a request, e.g. framing).
    func error(code name: String, countsAsRequest: Bool = false) {
        state.withLock { state in
            state.counters["errors.\(name)", default: 0] &+= 1
            if countsAsRequest { state.errors &+= 1 }
        }
    }

    /// Tracks open connections.
    func connectionOpened() {
        state.withLock { $0.openConnections += 1; $0.counters["connections.accepted", default: 0] &+= 1 }
    }

    func connectionClosed() { state.withLock { $0.openConnections -= 1 } }

    /// A consistent copy of everything.
    func snapshot() -> (openConnections: Int, requests: UInt64, errors: UInt64, counters: [String: UInt64], histograms: [String: Histogram]) {
        state.withLock { ($0.openConnections, $0.requests, $0.errors, $0.counters, $0.histograms) }
    }

    /// Whole seconds since the daemon started.
    var uptimeSeconds: UInt64 {
        UInt64(max(0, (ContinuousClock.now - startedAt).components.seconds))
    }
}

import PrometheusMetrics
import CoreMetrics
import Synchronization

/// The daemon's counters, open-connection gauge and request-latency timers, emitted through
/// swift-metrics handles made by a ``MetricsRegistry`` (the backend `stats` and the Prometheus
/// endpoint read). Thread-safe.
///
/// Labels: one timer per request type (its name, e.g. `appendBlocks`); counters `requests`,
/// `errors`, `errors.<code>`, `connections.accepted`, `blocks.appended`, … ; the meter
/// `connections.open`.
final class DaemonMetrics: Sendable {
    /// Counter labels that ``snapshot()`` reports as totals rather than as named counters.
    private static let requestsLabel = "requests", errorsLabel = "errors", openLabel = "connections.open"

    /// The backend every handle writes to.
    let registry: MetricsRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])
    private let open: Meter
    /// Monotonic start time.
    let startedAt = ContinuousClock.now

    /// Creates the daemon's metrics over `registry`.
    init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        open = Meter(label: Self.openLabel, factory: registry)
        open.set(0)
    }

    private func counter(_ label: String) -> Counter {
        counters.withLock { cache in
            if let counter = cache[label] { return counter }
            let counter = Counter(label: label, factory: registry)
            cache[label] = counter
            return counter
        }
    }

    private func timer(_ label: String) -> Timer {
        timers.withLock { cache in
            if let timer = cache[label] { return timer }
            let timer = Timer(label: label, factory: registry)
            cache[label] = timer
            return timer
        }
    }

    /// Adds `amount` to the counter `name`.
    func add(_ name: String, _ amount: UInt64 = 1) {
        counter(name).increment(by: Int64(clamping: amount))
    }

    /// Records one request of kind `name` that took `seconds`; `failed` counts it as an error.
    func request(_ name: String, seconds: Double, failed: Bool) {
        counter(Self.requestsLabel).increment()
        if failed { counter(Self.errorsLabel).increment() }
        timer(name).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Records `seconds` in the timer `name` (work that is not a request, e.g. a tier upload).
    func time(_ name: String, seconds: Double) {
        timer(name).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Counts an error reply with its code name (also for errors outside a request, e.g. framing).
    func error(code name: String, countsAsRequest: Bool = false) {
        counter("errors.\(name)").increment()
        if countsAsRequest { counter(Self.errorsLabel).increment() }
    }

    /// Tracks open connections.
    func connectionOpened() {
        open.increment()
        counter("connections.accepted").increment()
    }

    func connectionClosed() { open.decrement() }

    /// A consistent copy of everything: the totals, every other counter and every timer.
    func snapshot() -> (openConnections: Int, requests: UInt64, errors: UInt64, counters: [String: UInt64], histograms: [String: MetricsRegistry.Histogram]) {
        let s = registry.snapshot()
        var named = s.counters
        let requests = named.removeValue(forKey: Self.requestsLabel) ?? 0
        let errors = named.removeValue(forKey: Self.errorsLabel) ?? 0
        return (Int(s.gauges[Self.openLabel] ?? 0), requests, errors, named, s.histograms)
    }

    /// Whole seconds since the daemon started.
    var uptimeSeconds: UInt64 {
        UInt64(max(0, (ContinuousClock.now - startedAt).components.seconds))
    }
}

import CoreMetrics
import Synchronization

/// A swift-metrics backend kept in the process: every counter, meter (gauge) and timer made
/// through it, by label, for a `stats` reply and a Prometheus endpoint to report. kvd emits its
/// metrics through handles made with one (its ``DaemonMetrics``) and `kvd serve` bootstraps the
/// global `MetricsSystem` with it, so metrics other libraries emit land there too; `actqkv serve`
/// keeps its own, with longer buckets.
///
/// Dimensions are folded into the label (`label{key=value,…}`). Floating-point counters are
/// kept as whole numbers (truncated per increment); recorders keep their last value, like a
/// meter. Timers are histograms over the registry's ``bucketBounds``.
public final class MetricsRegistry: MetricsFactory, Sendable {
    /// Request latencies, 10 µs … 1 s (kvd's; the last bucket is +∞), in seconds.
    public static let latencyBounds: [Double] = [
        10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3,
        100e-3, 200e-3, 500e-3, 1, .infinity,
    ]

    /// Upper bounds of this registry's timer buckets, in seconds, increasing, the last +∞.
    public let bucketBounds: [Double]

    /// One latency histogram: per-bucket (non-cumulative) counts and the sum of observations.
    public struct Histogram: Sendable, Equatable {
        /// Observations per bucket of the registry's ``MetricsRegistry/bucketBounds``.
        public var counts: [UInt64]
        /// Sum of the observations, in seconds.
        public var sumSeconds: Double = 0

        init(buckets: Int) { counts = [UInt64](repeating: 0, count: buckets) }

        mutating func observe(_ seconds: Double, bounds: [Double]) {
            let index = bounds.firstIndex { seconds <= $0 } ?? (counts.count - 1)
            counts[index] += 1
            sumSeconds += seconds
        }
    }

    /// Everything recorded so far.
    public struct Snapshot: Sendable {
        /// Counters by label.
        public var counters: [String: UInt64]
        /// Meters and recorders (gauges) by label.
        public var gauges: [String: Double]
        /// Timers by label.
        public var histograms: [String: Histogram]
    }

    private struct Values {
        var counters: [String: UInt64] = [:]
        var gauges: [String: Double] = [:]
        var histograms: [String: Histogram] = [:]
    }

    private let values = Mutex(Values())

    /// Creates an empty registry whose timers use `bucketBounds` (increasing; +∞ is appended
    /// when missing).
    public init(bucketBounds: [Double] = latencyBounds) {
        self.bucketBounds = bucketBounds.last == .infinity ? bucketBounds : bucketBounds + [.infinity]
    }

    /// A consistent copy of every value.
    public func snapshot() -> Snapshot {
        values.withLock { Snapshot(counters: $0.counters, gauges: $0.gauges, histograms: $0.histograms) }
    }

    fileprivate func add(_ label: String, _ amount: Int64) {
        values.withLock { $0.counters[label, default: 0] &+= UInt64(max(0, amount)) }
    }

    fileprivate func resetCounter(_ label: String) { values.withLock { $0.counters[label] = 0 } }

    fileprivate func setGauge(_ label: String, _ value: Double) { values.withLock { $0.gauges[label] = value } }

    fileprivate func addGauge(_ label: String, _ delta: Double) { values.withLock { $0.gauges[label, default: 0] += delta } }

    fileprivate func observe(_ label: String, seconds: Double) {
        let bounds = bucketBounds
        values.withLock { $0.histograms[label, default: Histogram(buckets: bounds.count)].observe(seconds, bounds: bounds) }
    }

    /// The label a handle records under: `label`, or `label{key=value,…}` with its dimensions.
    public static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        CounterBox(registry: self, key: Self.key(label, dimensions))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        CounterBox(registry: self, key: Self.key(label, dimensions))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        GaugeBox(registry: self, key: Self.key(label, dimensions))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        GaugeBox(registry: self, key: Self.key(label, dimensions))
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        TimerBox(registry: self, key: Self.key(label, dimensions))
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}

private final class CounterBox: CounterHandler, FloatingPointCounterHandler, Sendable {
    let registry: MetricsRegistry
    let key: String
    init(registry: MetricsRegistry, key: String) { self.registry = registry; self.key = key }
    func increment(by amount: Int64) { registry.add(key, amount) }
    func increment(by amount: Double) { registry.add(key, Int64(max(0, amount))) }
    func reset() { registry.resetCounter(key) }
}

private final class GaugeBox: MeterHandler, RecorderHandler, Sendable {
    let registry: MetricsRegistry
    let key: String
    init(registry: MetricsRegistry, key: String) { self.registry = registry; self.key = key }
    func set(_ value: Int64) { registry.setGauge(key, Double(value)) }
    func set(_ value: Double) { registry.setGauge(key, value) }
    func record(_ value: Int64) { registry.setGauge(key, Double(value)) }
    func record(_ value: Double) { registry.setGauge(key, value) }
    func increment(by amount: Double) { registry.addGauge(key, amount) }
    func decrement(by amount: Double) { registry.addGauge(key, -amount) }
}

private final class TimerBox: TimerHandler, Sendable {
    let registry: MetricsRegistry
    let key: String
    init(registry: MetricsRegistry, key: String) { self.registry = registry; self.key = key }
    func recordNanoseconds(_ duration: Int64) { registry.observe(key, seconds: Double(duration) * 1e-9) }
}

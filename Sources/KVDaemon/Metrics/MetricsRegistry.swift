import CoreMetrics
import Synchronization

/// kvd's swift-metrics backend: an in-process registry that keeps every counter, meter
/// (gauge) and timer made through it, by label, so that `stats` (and `kvctl stats`) and the
/// Prometheus endpoint can report them. The daemon emits its metrics through swift-metrics
/// handles made with this factory (``DaemonMetrics``); `kvd serve` also bootstraps the global
/// `MetricsSystem` with it, so metrics other libraries emit in the process land here too.
///
/// Dimensions are folded into the label (`label{key=value,…}`). Floating-point counters are
/// kept as whole numbers (truncated per increment); recorders keep their last value, like a
/// meter. Timers are histograms over ``bucketBounds``.
public final class MetricsRegistry: MetricsFactory, Sendable {
    /// Upper bounds of the timer buckets, in seconds (the last bucket is +∞).
    public static let bucketBounds: [Double] = [
        10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3,
        100e-3, 200e-3, 500e-3, 1, .infinity,
    ]

    /// One latency histogram: per-bucket (non-cumulative) counts and the sum of observations.
    public struct Histogram: Sendable, Equatable {
        /// Observations per bucket of ``MetricsRegistry/bucketBounds``.
        public var counts = [UInt64](repeating: 0, count: MetricsRegistry.bucketBounds.count)
        /// Sum of the observations, in seconds.
        public var sumSeconds: Double = 0

        mutating func observe(_ seconds: Double) {
            let index = MetricsRegistry.bucketBounds.firstIndex { seconds <= $0 } ?? (counts.count - 1)
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

    /// Creates an empty registry.
    public init() {}

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
        values.withLock { $0.histograms[label, default: Histogram()].observe(seconds) }
    }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
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

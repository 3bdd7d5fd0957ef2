import Protocol
import CoreTypes
import DaemonTestSupport
import CoreMetrics
import KVClient
import Testing
@testable import KVDaemon

/// The swift-metrics backend behind `stats` and the Prometheus endpoint.
@Suite(.serialized)
struct MetricsRegistryTests {
    @Test("counters, meters, recorders and timers made through swift-metrics are kept by label (dimensions folded in)")
    func handlesRecordIntoTheRegistry() throws {
        let registry = MetricsRegistry()
        let counter = CoreMetrics.Counter(label: "events", dimensions: [("kind", "a")], factory: registry)
        counter.increment(by: 5)
        counter.increment()
        let meter = CoreMetrics.Meter(label: "depth", factory: registry)
        meter.increment(by: 3)
        meter.decrement()
        CoreMetrics.Gauge(label: "temperature", factory: registry).record(21.5)
        let timer = CoreMetrics.Timer(label: "work", factory: registry)
        timer.recordNanoseconds(15_000)   // 15 µs → the ≤ 20 µs bucket
        timer.recordNanoseconds(3_000_000)   // 3 ms → the ≤ 5 ms bucket
        let s = registry.snapshot()
        #expect(s.counters["events{kind=a}"] == 6)
        #expect(s.gauges["depth"] == 2 && s.gauges["temperature"] == 21.5)
        let h = try #require(s.histograms["work"])
        #expect(h.counts.reduce(0, +) == 2)
        #expect(h.counts[MetricsRegistry.bucketBounds.firstIndex(of: 20e-6)!] == 1)
        #expect(h.counts[MetricsRegistry.bucketBounds.firstIndex(of: 5e-3)!] == 1)
        #expect(abs(h.sumSeconds - 0.003015) < 1e-12)
    }

    @Test("the daemon's request metrics and a metric another library emits into its registry both reach stats")
    func daemonAndLibraryMetricsReachStats() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        _ = try await client.appendBlocks(session: "doc", blocks: (0..<3).map { Shapes.block(layer: 0, position: $0) })
        CoreMetrics.Counter(label: "library.events", factory: daemon.server.metricsRegistry).increment(by: 7)
        let stats = try await client.stats()
        let counters = Dictionary(uniqueKeysWithValues: stats.counters.map { ($0.name, $0.value) })
        #expect(counters["library.events"] == 7)
        #expect(counters["blocks.appended"] == 3)
        // Three appended blocks' payloads and keys came in; replies went out.
        let payloadBytes = UInt64(Shapes.tiny.payloadBytes), keyBytes = UInt64(Shapes.tiny.vectorDimension * 4)
        #expect((counters["bytes.received"] ?? 0) > 3 * (payloadBytes + keyBytes))
        #expect((counters["bytes.sent"] ?? 0) > 0)
        let before = counters["bytes.sent"] ?? 0
        let again = try await client.stats()
        let sent = again.counters.first { $0.name == "bytes.sent" }?.value ?? 0
        #expect(sent > before, "the first stats reply was counted as sent")
        #expect(stats.connections == 1)
        #expect(stats.requests >= 3, "hello, createSession, appendBlocks")
        let append = try #require(stats.histograms.first { $0.name == "latency.appendBlocks" })
        #expect(append.buckets.reduce(0) { $0 + $1.count } == 1)
        client.close()
        try await daemon.stop()
    }
}

import CoreMetrics
import Testing
@testable import PrometheusMetrics

/// The swift-metrics backend behind kvd's `stats` and both Prometheus endpoints.
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
        #expect(h.counts[MetricsRegistry.latencyBounds.firstIndex(of: 20e-6)!] == 1)
        #expect(h.counts[MetricsRegistry.latencyBounds.firstIndex(of: 5e-3)!] == 1)
        #expect(abs(h.sumSeconds - 0.003015) < 1e-12)
    }

    @Test("a registry with its own bounds files observations into them, with +∞ appended")
    func ownBounds() throws {
        let registry = MetricsRegistry(bucketBounds: [0.1, 1, 10])
        #expect(registry.bucketBounds == [0.1, 1, 10, .infinity])
        let timer = CoreMetrics.Timer(label: "ttft", factory: registry)
        timer.recordNanoseconds(500_000_000)
        timer.recordNanoseconds(30_000_000_000)
        #expect(try #require(registry.snapshot().histograms["ttft"]).counts == [0, 1, 0, 1])
    }

    @Test("the registry's exposition: counters _total, meters as gauges, timers as _seconds histograms, dimensions as labels")
    func exposition() {
        let registry = MetricsRegistry(bucketBounds: [1, 10])
        CoreMetrics.Counter(label: "hb.requests", dimensions: [("http.route", "/v1/models"), ("http.response.status_code", "200")],
                            factory: registry).increment(by: 2)
        CoreMetrics.Meter(label: "serve.waiting", factory: registry).set(3)
        CoreMetrics.Timer(label: "serve.ttft", factory: registry).recordNanoseconds(2_000_000_000)
        #expect(registry.exposition(prefix: "x_", help: ["serve.waiting": "Requests waiting."]).render() == """
            # HELP x_hb_requests_total hb.requests
            # TYPE x_hb_requests_total counter
            x_hb_requests_total{http_route="/v1/models",http_response_status_code="200"} 2
            # HELP x_serve_ttft_seconds serve.ttft
            # TYPE x_serve_ttft_seconds histogram
            x_serve_ttft_seconds_bucket{le="1.0"} 0
            x_serve_ttft_seconds_bucket{le="10.0"} 1
            x_serve_ttft_seconds_bucket{le="+Inf"} 1
            x_serve_ttft_seconds_sum 2
            x_serve_ttft_seconds_count 1
            # HELP x_serve_waiting Requests waiting.
            # TYPE x_serve_waiting gauge
            x_serve_waiting 3

            """)
    }
}

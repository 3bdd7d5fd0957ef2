import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import PrometheusMetrics
import Protocol
import Testing
@testable import KVDaemon

struct PrometheusExpositionTests {
    /// A real daemon's statistics, rendered, parsed by the reference parser: every family has the
    /// right type, histograms are cumulative and consistent, and counters move with requests.
    @Test func realStatisticsParseAndMove() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("prom", descriptor: Shapes.tiny)
        let before = try PrometheusParser.parse(PrometheusExposition.render(try await client.stats()))

        _ = try await client.appendBlocks(session: "prom", blocks: (0..<5).map { Shapes.block(layer: 0, position: $0) })
        await #expect(throws: KVClientError.self) { _ = try await client.openSession("no-such-session") }
        let text = PrometheusExposition.render(try await client.stats())
        let after = try PrometheusParser.parse(text)
        client.close()
        try await daemon.stop()

        #expect(text.hasSuffix("\n"))
        #expect(after.types["kvd_request_duration_seconds"] == "histogram")
        #expect(after.types["kvd_sessions"] == "gauge")
        #expect(after.types["kvd_requests"] == "counter" || after.types["kvd_requests_total"] == "counter")
        #expect(after.value("kvd_sessions") == 1)
        #expect(after.value("kvd_blocks") == 5)
        #expect((after.value("kvd_stored_bytes") ?? 0) > 0)
        #expect((after.value("kvd_raw_bytes") ?? 0) >= Double(5 * Shapes.tiny.payloadBytes))
        #expect(after.value("kvd_blocks_appended_total") == 5)
        #expect(before.value("kvd_blocks_appended_total") == nil)
        #expect(after.value("kvd_bytes_appended_total") == Double(5 * Shapes.tiny.payloadBytes))
        #expect(after.value("kvd_requests_total", ["type": "appendBlocks"]) == 1)
        #expect(after.value("kvd_requests_total", ["type": "openSession"]) == 1)
        #expect(after.value("kvd_errors_total", ["code": "sessionNotFound"]) == 1)
        #expect(after.value("kvd_request_errors_total") == (before.value("kvd_request_errors_total") ?? -1) + 1)
        let statsBefore = before.value("kvd_requests_total", ["type": "stats"]) ?? 0
        #expect(after.value("kvd_requests_total", ["type": "stats"]) == statsBefore + 1)

        // Histogram invariants per type: buckets cumulative, +Inf bucket == _count.
        for type in ["appendBlocks", "createSession", "openSession"] {
            let buckets = after.samples.filter { $0.name == "kvd_request_duration_seconds_bucket" && $0.labels["type"] == type }
            #expect(buckets.count == MetricsRegistry.latencyBounds.count)
            let counts = buckets.map(\.value)
            #expect(counts == counts.sorted(), "buckets of \(type) must be cumulative")
            #expect(buckets.last?.labels["le"] == "+Inf")
            #expect(counts.last == after.value("kvd_request_duration_seconds_count", ["type": type]))
            #expect((after.value("kvd_request_duration_seconds_sum", ["type": type]) ?? -1) > 0)
        }
    }

    /// Escaping survives the reference parser (counter names come from the daemon, but label
    /// values such as error codes are rendered verbatim).
    @Test func oddLabelValuesParse() throws {
        let stats = Stats(
            uptimeSeconds: 3, connections: 0, sessions: 0, blocks: 0, storedBytes: 0, capacityBytes: 0, requests: 2, errors: 2,
            counters: [StatCounter(name: "errors.we\"ird\\code\nx", value: 2)],
            histograms: [StatHistogram(name: "latency.x", sumSeconds: 0.5, buckets: [HistogramBucket(upperBoundSeconds: 1, count: 2)])])
        let parsed = try PrometheusParser.parse(PrometheusExposition.render(stats))
        #expect(parsed.value("kvd_errors_total", ["code": "we\"ird\\code\nx"]) == 2)
        #expect(parsed.value("kvd_request_duration_seconds_bucket", ["type": "x", "le": "+Inf"]) == 2)
        #expect(parsed.value("kvd_uptime_seconds") == 3)
    }
}

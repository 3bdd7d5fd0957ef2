import CoreMetrics
import CoreTypes
import DaemonTestSupport
import KVClient
import Protocol
import Testing
@testable import KVDaemon

@Suite(.serialized)
struct DaemonMetricsTests {
    @Test func bucketsLatenciesAndCountsErrors() {
        let metrics = DaemonMetrics()
        metrics.request("append", seconds: 15e-6, failed: false)
        metrics.request("append", seconds: 3e-3, failed: true)
        metrics.request("append", seconds: 5, failed: false)
        metrics.add("blocks.appended", 7)
        let snapshot = metrics.snapshot()
        #expect(snapshot.requests == 3)
        #expect(snapshot.errors == 1)
        #expect(snapshot.counters["blocks.appended"] == 7)
        let histogram = try! #require(snapshot.histograms["append"])
        #expect(histogram.counts[1] == 1, "15 µs falls in the ≤ 20 µs bucket")
        #expect(histogram.counts[8] == 1, "3 ms falls in the ≤ 5 ms bucket")
        #expect(histogram.counts.last == 1, "5 s falls in the +∞ bucket")
        #expect(abs(histogram.sumSeconds - (15e-6 + 3e-3 + 5)) < 1e-9)
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

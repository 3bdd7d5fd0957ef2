import Protocol
import CoreTypes
import Testing
@testable import KVDaemon

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
}

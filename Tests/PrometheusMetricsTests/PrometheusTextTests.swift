import Testing
@testable import PrometheusMetrics

struct PrometheusTextTests {
    @Test("names are lower snake case; label values and help are escaped")
    func namesAndEscapes() {
        #expect(PrometheusText.metricName("blocks.appended") == "blocks_appended")
        #expect(PrometheusText.metricName("store.rawBytes") == "store_raw_bytes")
        #expect(PrometheusText.metricName("a-b c") == "a_b_c")
        #expect(PrometheusText.metricName("9lives") == "_9lives")
        #expect(PrometheusText.escapeLabel("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(PrometheusText.escapeHelp("a\nb") == "a\\nb")
    }

    @Test("families sorted, HELP and TYPE once each; a histogram's buckets cumulative with +Inf, _sum and _count")
    func rendering() {
        var text = PrometheusText()
        text.add("b_total", .counter, help: "B.", labels: [("k", "x")], value: 3)
        text.addHistogram("a_seconds", help: "A.", buckets: [(0.5, 1), (1, 2)], sum: 1.25)
        text.declare("c", .gauge, help: "C.")
        #expect(text.render() == """
            # HELP a_seconds A.
            # TYPE a_seconds histogram
            a_seconds_bucket{le="0.5"} 1
            a_seconds_bucket{le="1.0"} 3
            a_seconds_bucket{le="+Inf"} 3
            a_seconds_sum 1.25
            a_seconds_count 3
            # HELP b_total B.
            # TYPE b_total counter
            b_total{k="x"} 3
            # HELP c C.
            # TYPE c gauge

            """)
    }
}

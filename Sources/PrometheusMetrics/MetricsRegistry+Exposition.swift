extension MetricsRegistry {
    /// Everything recorded, in the Prometheus text format: each counter as
    /// `<prefix><name>_total`, each meter or recorder as a gauge `<prefix><name>`, each timer as a
    /// histogram `<prefix><name>_seconds` over ``bucketBounds``; names in snake case
    /// (``PrometheusText/metricName(_:)``), a handle's dimensions as labels. `help` gives a
    /// family's HELP text by its swift-metrics label (default: the label itself).
    ///
    /// Dimension values must not contain `,` or `=` (they are folded into the registry's keys).
    public func exposition(prefix: String, help: [String: String] = [:]) -> PrometheusText {
        let s = snapshot()
        var text = PrometheusText()
        for (key, value) in s.counters.sorted(by: { $0.key < $1.key }) {
            let (label, labels) = Self.split(key)
            text.add(prefix + PrometheusText.metricName(label) + "_total", .counter, help: help[label] ?? label, labels: labels, value: Double(value))
        }
        for (key, value) in s.gauges.sorted(by: { $0.key < $1.key }) {
            let (label, labels) = Self.split(key)
            text.add(prefix + PrometheusText.metricName(label), .gauge, help: help[label] ?? label, labels: labels, value: value)
        }
        for (key, histogram) in s.histograms.sorted(by: { $0.key < $1.key }) {
            let (label, labels) = Self.split(key)
            text.addHistogram(prefix + PrometheusText.metricName(label) + "_seconds", help: help[label] ?? label, labels: labels,
                              buckets: zip(bucketBounds, histogram.counts).map { ($0, $1) }, sum: histogram.sumSeconds)
        }
        return text
    }

    /// `label{a=1,b=2}` → (`label`, [(a, 1), (b, 2)]), label names in snake case.
    static func split(_ key: String) -> (label: String, labels: [PrometheusText.Label]) {
        guard let open = key.firstIndex(of: "{"), key.hasSuffix("}") else { return (key, []) }
        let inner = key[key.index(after: open)..<key.index(before: key.endIndex)]
        let labels: [PrometheusText.Label] = inner.split(separator: ",").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return (PrometheusText.metricName(String(parts[0])), parts.count > 1 ? String(parts[1]) : "")
        }
        return (String(key[..<open]), labels)
    }
}

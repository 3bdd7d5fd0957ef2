import Protocol

/// Renders the daemon's statistics (the same `Stats` a `stats` request returns, so
/// `kvctl stats` and the metrics endpoint never disagree) in the Prometheus text exposition
/// format, version 0.0.4 (`Content-Type: text/plain; version=0.0.4`).
///
/// Families (all prefixed `kvd_`):
/// - gauges: `uptime_seconds`, `connections` (open), `sessions`, `blocks`, `stored_bytes`
///   (compressed payload + keys on disk), `raw_bytes` (uncompressed payload), `capacity_bytes`
///   (0 = unlimited), `map_used_bytes`, `map_size_bytes`, `pinned_sessions`;
/// - counters: `requests_total{type}`, `request_errors_total`, `errors_total{code}`,
///   `evictions_total`, `commits_total`, `write_requests_total`, and one `<name>_total` per other
///   daemon counter (`blocks.appended` → `kvd_blocks_appended_total`, `bytes.appended` →
///   `kvd_bytes_appended_total`, …);
/// - histogram: `request_duration_seconds{type}` (cumulative buckets `le`, `_sum`, `_count`).
public enum PrometheusExposition {
    /// The HTTP `Content-Type` of the rendered text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Store statistics that are levels, not totals (rendered as gauges).
    static let storeGauges: [String: (name: String, help: String)] = [
        "store.rawBytes": ("raw_bytes", "Uncompressed bytes of the stored block payloads."),
        "store.mapBytesUsed": ("map_used_bytes", "Bytes of the LMDB map in use."),
        "store.mapSize": ("map_size_bytes", "LMDB map size: the largest the store may grow, in bytes."),
        "store.pinnedSessions": ("pinned_sessions", "Sessions held open by a connection (never evicted)."),
    ]
    /// Store statistics that only grow (rendered as counters).
    static let storeCounters: [String: (name: String, help: String)] = [
        "store.evictions": ("evictions_total", "Sessions evicted to stay under the capacity."),
        "store.commits": ("commits_total", "LMDB write transactions committed (group commits)."),
        "store.writeRequests": ("write_requests_total", "Write requests handed to the store's writer."),
    ]

    /// The exposition text of `stats`: one `# HELP`, one `# TYPE` and the samples per family,
    /// families sorted by name, ending with a newline.
    public static func render(_ stats: Stats) -> String {
        var families: [String: Family] = [:]
        func gauge(_ name: String, _ help: String, _ value: UInt64) {
            families["kvd_" + name] = Family(type: "gauge", help: help, samples: [Sample(suffix: "", labels: [], value: Double(value))])
        }
        gauge("uptime_seconds", "Seconds since kvd started.", stats.uptimeSeconds)
        gauge("connections", "Open client connections.", UInt64(stats.connections))
        gauge("sessions", "Sessions stored (all owners).", stats.sessions)
        gauge("blocks", "Distinct blocks stored.", stats.blocks)
        gauge("stored_bytes", "Bytes stored: compressed payloads and representative keys.", stats.storedBytes)
        gauge("capacity_bytes", "Configured capacity in bytes (0 = unlimited).", stats.capacityBytes)
        var requestErrors = Family(type: "counter", help: "Requests answered with an error reply.", samples: [])
        requestErrors.samples.append(Sample(suffix: "", labels: [], value: Double(stats.errors)))
        families["kvd_request_errors_total"] = requestErrors

        var errorsByCode = Family(type: "counter", help: "Error replies by error code.", samples: [])
        for counter in stats.counters {
            if let known = storeGauges[counter.name] {
                gauge(known.name, known.help, counter.value)
            } else if let known = storeCounters[counter.name] {
                families["kvd_" + known.name] = Family(
                    type: "counter", help: known.help, samples: [Sample(suffix: "", labels: [], value: Double(counter.value))])
            } else if counter.name.hasPrefix("errors.") {
                let code = String(counter.name.dropFirst("errors.".count))
                errorsByCode.samples.append(Sample(suffix: "", labels: [("code", code)], value: Double(counter.value)))
            } else {
                let name = "kvd_" + metricName(counter.name) + "_total"
                families[name] = Family(
                    type: "counter", help: "kvd counter \(counter.name).",
                    samples: [Sample(suffix: "", labels: [], value: Double(counter.value))])
            }
        }
        families["kvd_errors_total"] = errorsByCode

        var requests = Family(type: "counter", help: "Requests handled, by message type.", samples: [])
        var durations = Family(type: "histogram", help: "Time to answer a request, by message type, in seconds.", samples: [])
        for histogram in stats.histograms.sorted(by: { $0.name < $1.name }) {
            let type = histogram.name.hasPrefix("latency.") ? String(histogram.name.dropFirst("latency.".count)) : histogram.name
            let labels = [("type", type)]
            var cumulative: UInt64 = 0
            var sawInfinity = false
            for bucket in histogram.buckets {
                cumulative &+= bucket.count
                sawInfinity = sawInfinity || bucket.upperBoundSeconds == .infinity
                durations.samples.append(Sample(
                    suffix: "_bucket", labels: labels + [("le", formatBound(bucket.upperBoundSeconds))], value: Double(cumulative)))
            }
            if !sawInfinity {
                durations.samples.append(Sample(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: Double(cumulative)))
            }
            durations.samples.append(Sample(suffix: "_sum", labels: labels, value: histogram.sumSeconds))
            durations.samples.append(Sample(suffix: "_count", labels: labels, value: Double(cumulative)))
            requests.samples.append(Sample(suffix: "", labels: labels, value: Double(cumulative)))
        }
        families["kvd_requests_total"] = requests
        families["kvd_request_duration_seconds"] = durations

        var text = ""
        for (name, family) in families.sorted(by: { $0.key < $1.key }) {
            text += "# HELP \(name) \(escapeHelp(family.help))\n# TYPE \(name) \(family.type)\n"
            for sample in family.samples {
                text += name + sample.suffix
                if !sample.labels.isEmpty {
                    text += "{" + sample.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                }
                text += " " + formatValue(sample.value) + "\n"
            }
        }
        return text
    }

    private struct Family {
        var type: String
        var help: String
        var samples: [Sample]
    }

    private struct Sample {
        var suffix: String
        var labels: [(String, String)]
        var value: Double
    }

    /// `blocks.appended` → `blocks_appended`, `store.rawBytes` → `store_raw_bytes`: lower snake
    /// case, every character outside `[a-zA-Z0-9_]` becomes `_`.
    static func metricName(_ name: String) -> String {
        var result = ""
        var previousWasLowerOrDigit = false
        for scalar in name.unicodeScalars {
            let isUpper = scalar.value >= 65 && scalar.value <= 90
            let isLower = scalar.value >= 97 && scalar.value <= 122
            let isDigit = scalar.value >= 48 && scalar.value <= 57
            if isUpper {
                if previousWasLowerOrDigit { result += "_" }
                result.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            } else if isLower || isDigit || scalar == "_" {
                result.unicodeScalars.append(scalar)
            } else {
                result += "_"
            }
            previousWasLowerOrDigit = isLower || isDigit
        }
        if let first = result.unicodeScalars.first, first.value >= 48 && first.value <= 57 { result = "_" + result }
        return result
    }

    /// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled as Prometheus does.
    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A bucket bound for the `le` label.
    static func formatBound(_ bound: Double) -> String {
        bound == .infinity ? "+Inf" : "\(bound)"
    }

    /// HELP text escaping: backslash and newline.
    static func escapeHelp(_ text: String) -> String {
        escape(text, quotes: false)
    }

    /// Label value escaping: backslash, double quote and newline.
    static func escapeLabel(_ text: String) -> String {
        escape(text, quotes: true)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\"" where quotes: result += "\\\""
            default: result.append(character)
            }
        }
        return result
    }
}

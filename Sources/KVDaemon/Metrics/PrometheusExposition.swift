import PrometheusMetrics
import Protocol

/// Renders the daemon's statistics (the same `Stats` a `stats` request returns, so
/// `kvctl stats` and the metrics endpoint never disagree) in the Prometheus text exposition
/// format (``PrometheusText``).
///
/// Families (all prefixed `kvd_`):
/// - gauges: `uptime_seconds`, `connections` (open), `sessions`, `blocks`, `stored_bytes`
///   (compressed payload + keys on disk), `raw_bytes` (uncompressed payload), `capacity_bytes`
///   (0 = unlimited), `map_used_bytes`, `map_size_bytes`, `pinned_sessions`;
/// - counters: `requests_total{type}`, `request_errors_total`, `errors_total{code}`,
///   `evictions_total`, `commits_total`, `write_requests_total`, and one `<name>_total` per other
///   daemon counter (`blocks.appended` → `kvd_blocks_appended_total`, `bytes.appended` →
///   `kvd_bytes_appended_total`, …);
/// - histogram: `request_duration_seconds{type}` (cumulative buckets `le`, `_sum`, `_count`);
///   the shared tier's `tier_upload_duration_seconds` (one observation per upload batch),
///   `tier_download_duration_seconds` (one per fetch of payloads) and its gauges
///   `tier_queued_blocks`, `tier_queued_bytes`, `tier_remote_blocks`.
public enum PrometheusExposition {
    /// Store statistics that are levels, not totals (rendered as gauges).
    static let storeGauges: [String: (name: String, help: String)] = [
        "store.rawBytes": ("raw_bytes", "Uncompressed bytes of the stored block payloads."),
        "store.mapBytesUsed": ("map_used_bytes", "Bytes of the LMDB map in use."),
        "store.mapSize": ("map_size_bytes", "LMDB map size: the largest the store may grow, in bytes."),
        "store.pinnedSessions": ("pinned_sessions", "Sessions held open by a connection (never evicted)."),
        "tier.queuedBlocks": ("tier_queued_blocks", "Blocks waiting to be written to the shared tier."),
        "tier.queuedBytes": ("tier_queued_bytes", "Stored bytes of the blocks waiting to be written to the shared tier."),
        "tier.remoteBlocks": ("tier_remote_blocks", "Blocks of sessions pulled from the shared tier whose payloads are not held here yet."),
    ]
    /// Store statistics that only grow (rendered as counters).
    static let storeCounters: [String: (name: String, help: String)] = [
        "store.evictions": ("evictions_total", "Sessions evicted to stay under the capacity."),
        "store.commits": ("commits_total", "LMDB write transactions committed (group commits)."),
        "store.writeRequests": ("write_requests_total", "Write requests handed to the store's writer."),
    ]

    /// The exposition text of `stats`.
    public static func render(_ stats: Stats) -> String {
        var text = PrometheusText()
        func gauge(_ name: String, _ help: String, _ value: UInt64) {
            text.add("kvd_" + name, .gauge, help: help, value: Double(value))
        }
        gauge("uptime_seconds", "Seconds since kvd started.", stats.uptimeSeconds)
        gauge("connections", "Open client connections.", UInt64(stats.connections))
        gauge("sessions", "Sessions stored (all owners).", stats.sessions)
        gauge("blocks", "Distinct blocks stored.", stats.blocks)
        gauge("stored_bytes", "Bytes stored: compressed payloads and representative keys.", stats.storedBytes)
        gauge("capacity_bytes", "Configured capacity in bytes (0 = unlimited).", stats.capacityBytes)
        text.add("kvd_request_errors_total", .counter, help: "Requests answered with an error reply.", value: Double(stats.errors))

        let errorsHelp = "Error replies by error code."
        text.declare("kvd_errors_total", .counter, help: errorsHelp)
        for counter in stats.counters {
            if let known = storeGauges[counter.name] {
                gauge(known.name, known.help, counter.value)
            } else if let known = storeCounters[counter.name] {
                text.add("kvd_" + known.name, .counter, help: known.help, value: Double(counter.value))
            } else if counter.name.hasPrefix("errors.") {
                let code = String(counter.name.dropFirst("errors.".count))
                text.add("kvd_errors_total", .counter, help: errorsHelp, labels: [("code", code)], value: Double(counter.value))
            } else {
                text.add("kvd_" + PrometheusText.metricName(counter.name) + "_total", .counter, help: "kvd counter \(counter.name).",
                         value: Double(counter.value))
            }
        }

        let requestsHelp = "Requests handled, by message type.", durationsHelp = "Time to answer a request, by message type, in seconds."
        text.declare("kvd_requests_total", .counter, help: requestsHelp)
        text.declare("kvd_request_duration_seconds", .histogram, help: durationsHelp)
        for histogram in stats.histograms.sorted(by: { $0.name < $1.name }) {
            let type = histogram.name.hasPrefix("latency.") ? String(histogram.name.dropFirst("latency.".count)) : histogram.name
            if type.hasPrefix("tier.") {
                // Work of the daemon's own, not requests.
                let name = "kvd_" + PrometheusText.metricName(type) + "_duration_seconds"
                _ = text.addHistogram(name, help: "Duration of kvd's \(type) work, in seconds.", labels: [],
                                      buckets: histogram.buckets.map { ($0.upperBoundSeconds, $0.count) }, sum: histogram.sumSeconds)
                continue
            }
            let count = text.addHistogram("kvd_request_duration_seconds", help: durationsHelp, labels: [("type", type)],
                                          buckets: histogram.buckets.map { ($0.upperBoundSeconds, $0.count) }, sum: histogram.sumSeconds)
            text.add("kvd_requests_total", .counter, help: requestsHelp, labels: [("type", type)], value: Double(count))
        }
        return text.render()
    }
}

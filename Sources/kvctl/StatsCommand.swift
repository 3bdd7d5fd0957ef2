import ArgumentParser
import KVClient

/// `kvctl stats`: the daemon's counters, latency histograms and store totals.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print server statistics.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let stats = try await connection.connect().stats()
            if json {
                try printJSON([
                    "uptimeSeconds": stats.uptimeSeconds, "connections": stats.connections, "sessions": stats.sessions,
                    "blocks": stats.blocks, "storedBytes": stats.storedBytes, "capacityBytes": stats.capacityBytes,
                    "requests": stats.requests, "errors": stats.errors,
                    "counters": Dictionary(uniqueKeysWithValues: stats.counters.map { ($0.name, $0.value) }),
                    "histograms": Dictionary(uniqueKeysWithValues: stats.histograms.map { h in
                        (h.name, [
                            "sumSeconds": h.sumSeconds,
                            "buckets": h.buckets.map { ["le": $0.upperBoundSeconds.isFinite ? "\($0.upperBoundSeconds)" : "+Inf", "count": $0.count] as [String: Any] },
                        ] as [String: Any])
                    }),
                ] as [String: Any])
            } else {
                print("uptime \(stats.uptimeSeconds) s, \(stats.connections) connections")
                print("sessions \(stats.sessions), blocks \(stats.blocks), stored \(stats.storedBytes) bytes, capacity \(stats.capacityBytes == 0 ? "unlimited" : "\(stats.capacityBytes) bytes")")
                print("requests \(stats.requests), errors \(stats.errors)")
                let counters = Dictionary(uniqueKeysWithValues: stats.counters.map { ($0.name, $0.value) })
                if let queued = counters["tier.queuedBlocks"] {
                    // The shared tier at a glance (docs/TIER.md); every counter follows below.
                    func c(_ name: String) -> UInt64 { counters[name] ?? 0 }
                    print("tier: queued \(queued) blocks (\(c("tier.queuedBytes")) bytes), uploaded \(c("tier.uploadedBlocks")) (\(c("tier.uploadedBytes")) bytes), "
                        + "published \(c("tier.publications")); pulled \(c("tier.pulledSessions")) sessions, \(c("tier.remoteBlocks")) blocks not fetched yet, "
                        + "downloaded \(c("tier.downloadedBlocks")) (\(c("tier.downloadedBytes")) bytes, \(c("tier.downloadsJoined")) more joined); failures: upload \(c("tier.uploadFailures")), "
                        + "publication \(c("tier.publicationFailures")), pull \(c("tier.pullFailures")), verification \(c("tier.verificationFailures"))")
                }
                for counter in stats.counters { print("  \(counter.name) \(counter.value)") }
                for h in stats.histograms {
                    let count = h.buckets.reduce(0) { $0 + $1.count }
                    let mean = count == 0 ? 0 : h.sumSeconds / Double(count) * 1e6
                    print("  \(h.name): \(count) requests, mean \(String(format: "%.1f", mean)) µs")
                }
            }
        }
    }
}

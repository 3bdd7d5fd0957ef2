import KVClient
import Protocol
import Testing

/// Reading a node's tier counters in the shared-tier tests.
enum TierStats {
    /// Counter or gauge `name` of `stats`; 0 when the node does not report it.
    static func counter(_ stats: Stats, _ name: String) -> UInt64 {
        stats.counters.first { $0.name == name }?.value ?? 0
    }

    /// Polls the node's stats every `interval` until `condition` holds and returns those stats;
    /// fails the test after `timeout`, naming `what` and the tier counters.
    @discardableResult
    static func waitFor(
        _ client: KVClient, _ what: String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(50),
        until condition: (Stats) -> Bool
    ) async throws -> Stats {
        let deadline = ContinuousClock.now + timeout
        while true {
            let stats = try await client.stats()
            if condition(stats) { return stats }
            try #require(
                ContinuousClock.now < deadline, "\(what): not reached in \(timeout); \(stats.counters.filter { $0.name.hasPrefix("tier.") })")
            try await Task.sleep(for: interval)
        }
    }

    /// Waits (≤ 60 s) until the node's upload queue is empty (its gauge reported and 0).
    static func drained(_ client: KVClient) async throws -> Stats {
        try await waitFor(client, "the upload queue drains") { stats in
            stats.counters.contains { $0.name == "tier.queuedBlocks" && $0.value == 0 }
        }
    }
}

import PrometheusMetrics
import KVStore
import Protocol

extension RequestDispatcher {
    /// Server statistics: the store's totals, the daemon's counters (`requests.*` are in the
    /// histograms' counts; `errors.<code>`, `blocks.*`, `bytes.*`, `sessions.*`, `store.*`) and one
    /// latency histogram per request type (`latency.<type>`, non-cumulative bucket counts).
    func stats() throws -> Message {
        let store = self.store.stats()
        let snapshot = metrics.snapshot()
        var counters = snapshot.counters
        counters["store.rawBytes"] = UInt64(store.rawBytes)
        counters["store.mapBytesUsed"] = UInt64(store.mapBytesUsed)
        counters["store.mapSize"] = UInt64(store.mapSize)
        counters["store.evictions"] = UInt64(store.evictions)
        counters["store.commits"] = UInt64(store.commits)
        counters["store.writeRequests"] = UInt64(store.writeRequests)
        counters["store.pinnedSessions"] = UInt64(store.pinnedSessions)
        if let tier {
            counters["tier.queuedBlocks"] = UInt64(store.pendingUploads)
            counters["tier.queuedBytes"] = UInt64(store.pendingUploadBytes)
            counters["tier.remoteBlocks"] = UInt64(store.remoteBlocks)
            counters.merge(tier.counters()) { $1 }
        }
        let histograms = snapshot.histograms.sorted { $0.key < $1.key }.map { name, histogram in
            StatHistogram(
                name: "latency.\(name)", sumSeconds: histogram.sumSeconds,
                buckets: zip(metrics.registry.bucketBounds, histogram.counts).map { HistogramBucket(upperBoundSeconds: $0, count: $1) })
        }
        return .stats(Stats(
            uptimeSeconds: metrics.uptimeSeconds, connections: UInt32(clamping: snapshot.openConnections),
            sessions: UInt64(store.sessions), blocks: UInt64(store.blocks), storedBytes: UInt64(store.storedBytes),
            capacityBytes: capacityBytes, requests: snapshot.requests, errors: snapshot.errors,
            counters: counters.sorted { $0.key < $1.key }.map { StatCounter(name: $0.key, value: $0.value) },
            histograms: histograms))
    }
}

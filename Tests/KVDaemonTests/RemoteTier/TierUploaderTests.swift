import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import Protocol
import RedisCluster
import RedisTestSupport
import Testing
@testable import KVDaemon
@testable import KVStore

/// kvd writing acknowledged blocks behind to a real Redis Cluster (docs/TIER.md "Writing behind").
@Suite("Shared tier: write-behind to a Redis Cluster", .serialized)
struct TierUploaderTests {
    private static func daemon(_ cluster: LocalRedisCluster, directory: String? = nil) async throws -> InProcessDaemon {
        try await InProcessDaemon(directory: directory) { configuration in
            var tier = RemoteTierConfiguration(seeds: cluster.seeds)
            tier.replicas = 1
            configuration.remote = tier
        }
    }

    /// Every block's payload as the cluster holds it, decoded.
    private static func clusterPayloads(_ cluster: LocalRedisCluster, _ ids: [BlockID]) async throws -> [[UInt8]?] {
        let redis = try RedisCluster(configuration: RedisClusterConfiguration(seeds: cluster.seeds))
        defer { redis.close() }
        let replies = await redis.pipeline(ids.map { RedisCommand(["GET", "kvd:p:\($0)"]) })
        return try replies.map { reply in try reply.get().bytes.map { try PayloadCodec.decode($0) } }
    }

    @Test("appended blocks reach the cluster under their ids, byte for byte, and leave the queue")
    func appendedBlocksAreUploaded() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let daemon = try await Self.daemon(cluster)
        defer { daemon.removeFiles() }
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        let blocks = (0..<40).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p) } }
        let ids = try await client.appendBlocks(session: "doc", blocks: blocks)
        // A second session over the same prefix stores nothing new and uploads nothing again.
        _ = try await client.createSession("copy", descriptor: Shapes.tiny)
        #expect(try await client.appendBlocks(session: "copy", blocks: blocks) == ids)

        let stats = try await TierStats.drained(client)
        #expect(TierStats.counter(stats, "tier.uploadedBlocks") == 120)
        #expect(TierStats.counter(stats, "tier.queuedBytes") == 0)
        #expect(TierStats.counter(stats, "tier.redis.roundTrips") > 0)
        #expect(stats.histograms.contains { $0.name == "latency.tier.upload" })
        // /metrics: the queue as gauges, the batches as a histogram of their own (not requests).
        let exposition = PrometheusExposition.render(stats)
        #expect(exposition.contains("# TYPE kvd_tier_queued_blocks gauge\nkvd_tier_queued_blocks 0\n"), "\(exposition)")
        #expect(exposition.contains("# TYPE kvd_tier_upload_duration_seconds histogram"))
        #expect(exposition.contains("kvd_tier_uploaded_blocks_total 120"))
        #expect(!exposition.contains("type=\"tier.upload\""))
        let stored = try await Self.clusterPayloads(cluster, ids)
        for (block, payload) in zip(blocks, stored) {
            #expect(payload == Array(block.payload))
        }

        // Closing the session publishes its manifest (the stored name is "<uid>/doc").
        try await client.closeSession("doc")
        let redis = try RedisCluster(configuration: RedisClusterConfiguration(seeds: cluster.seeds))
        defer { redis.close() }
        let key = "kvd:s:{\(getuid())/doc}:m"
        let deadline = ContinuousClock.now + .seconds(30)
        var manifest: RedisReply = .null
        while manifest == .null {
            try #require(ContinuousClock.now < deadline, "the session was not published")
            try await Task.sleep(for: .milliseconds(50))
            manifest = try await redis.send(RedisCommand(["GET", key]))
        }
        let decoded = try SessionManifest.decode(try #require(manifest.bytes))
        #expect(decoded.layers.map { $0.map(\.id) } == (0..<3).map { layer in stride(from: layer, to: ids.count, by: 3).map { ids[$0] } })
        #expect(TierStats.counter(try await client.stats(), "tier.publications") == 1)
        client.close()
        try await daemon.stop()
    }

    @Test("a master killed while kvd uploads: its replica takes over, and every block that left the queue is in the cluster byte for byte")
    func masterKilledDuringUploads() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let daemon = try await Self.daemon(cluster)
        defer { daemon.removeFiles() }
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        let redis = try RedisCluster(configuration: RedisClusterConfiguration(seeds: cluster.seeds))
        defer { redis.close() }
        try await redis.refreshTopology()
        let victim = try #require(redis.masters.first)
        let replica = try #require(try cluster.replicas(ofMaster: victim.port).first)

        // Appends in rounds; the victim is killed once uploads are under way, appends go on.
        var blocks: [BlockRecord] = [], ids: [BlockID] = []
        for round in 0..<20 {
            let batch = (round * 20..<(round + 1) * 20).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p, seed: 9) } }
            ids += try await client.appendBlocks(session: "doc", blocks: batch)
            blocks += batch
            if round == 4 {
                try await TierStats.waitFor(client, "a first upload", timeout: .seconds(30), interval: .milliseconds(10)) {
                    TierStats.counter($0, "tier.uploadedBlocks") > 0
                }
                cluster.kill(port: victim.port)
            }
        }
        // The promoted replica has no replica of its own (WAIT 1 fails on its shard) until the
        // killed node, restarted, rejoins as its replica.
        let deadline = ContinuousClock.now + .seconds(60)
        while try cluster.cli(port: replica, ["role"]).output.hasPrefix("slave") {
            try #require(ContinuousClock.now < deadline, "the replica was not promoted")
            try await Task.sleep(for: .milliseconds(50))
        }
        try cluster.start(port: victim.port)
        let stats = try await TierStats.drained(client)
        #expect(TierStats.counter(stats, "tier.uploadedBlocks") == 1200)
        try cluster.waitUntilHealthy()
        let stored = try await Self.clusterPayloads(cluster, ids)
        for (block, payload) in zip(blocks, stored) {
            #expect(payload == Array(block.payload))
        }
        client.close()
        try await daemon.stop()
    }

    @Test("with the cluster unreachable appends are acknowledged and queued; the queue drains when it returns, also after a restart")
    func clusterDownThenBack() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        var daemon = try await Self.daemon(cluster)
        defer { daemon.removeFiles() }
        var client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        let first = (0..<10).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p) } }
        var ids = try await client.appendBlocks(session: "doc", blocks: first)
        _ = try await TierStats.drained(client)

        // Every node stopped: appends still succeed, the queue holds them.
        cluster.pauseAll(true)
        let second = (10..<30).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p) } }
        ids += try await client.appendBlocks(session: "doc", blocks: Array(second[..<30]))
        ids += try await client.appendBlocks(session: "doc", blocks: Array(second[30...]))
        var stats = try await client.stats()
        #expect(TierStats.counter(stats, "tier.queuedBlocks") == 60)
        #expect(TierStats.counter(stats, "tier.queuedBytes") > 0)

        // kvd stops meanwhile (the batch in flight is interrupted) and starts again: the queue
        // is on disk.
        client.close()
        try await daemon.stop(keepingFiles: true)
        cluster.pauseAll(false)
        daemon = try await Self.daemon(cluster, directory: daemon.root)
        client = try await daemon.connect()
        stats = try await TierStats.drained(client)
        #expect(TierStats.counter(stats, "tier.uploadedBlocks") == 60)
        let stored = try await Self.clusterPayloads(cluster, ids)
        for (block, payload) in zip(first + second, stored) {
            #expect(payload == Array(block.payload))
        }
        client.close()
        try await daemon.stop()
    }
}

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

/// Two kvd nodes over one real Redis Cluster: node B opens what node A published and fetches its
/// payloads on demand (docs/TIER.md "Reading through").
@Suite("Shared tier: sessions pulled by another node", .serialized)
struct SessionPullTests {
    private static func node(_ cluster: LocalRedisCluster) async throws -> InProcessDaemon {
        try await InProcessDaemon { configuration in
            var tier = RemoteTierConfiguration(seeds: cluster.seeds)
            tier.tls = cluster.clientTLS
            configuration.remote = tier
        }
    }

    /// A client of the cluster of the tests' own (TLS when the cluster speaks it).
    private static func client(_ cluster: LocalRedisCluster) throws -> RedisCluster {
        var configuration = RedisClusterConfiguration(seeds: cluster.seeds)
        configuration.tls = cluster.clientTLS
        return try RedisCluster(configuration: configuration)
    }

    /// Node A's document "doc": `positions` blocks per layer and a checkpoint, closed and
    /// published; A is stopped and its data directory deleted. Returns the blocks A wrote.
    private static func publishOnNodeA(_ cluster: LocalRedisCluster, positions: Int = 12) async throws -> [BlockRecord] {
        let a = try await node(cluster)
        let client = try await a.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        let blocks = (0..<positions).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p, seed: 5) } }
        _ = try await client.appendBlocks(session: "doc", blocks: blocks)
        try await client.putCheckpoint(session: "doc", chunkSequence: 7, tokenCount: 48, workerState: Array("worker state".utf8)[...])
        try await client.closeSession("doc")
        try await TierStats.waitFor(client, "node A publishes the session") { TierStats.counter($0, "tier.publications") >= 1 }
        client.close()
        try await a.stop()  // and its data directory is deleted
        #expect(!FileManager.default.fileExists(atPath: a.dataPath))
        return blocks
    }

    @Test(
        "node B opens node A's session after A is gone: keys and checkpoint come with it, payloads when a retrieve or fetch needs them, checked and kept — in the clear and over TLS",
        arguments: [false, true])
    func nodeBServesNodeAsSession(tls: Bool) async throws {
        let cluster = try LocalRedisCluster(tls: tls)
        defer { cluster.stop() }
        let blocks = try await Self.publishOnNodeA(cluster)

        let b = try await Self.node(cluster)
        let client = try await b.connect()
        let info = try await client.openSession("doc")
        #expect(info.blockCounts == [12, 12, 12] && info.descriptor == Shapes.tiny && info.checkpointSequence == 7)
        var stats = try await client.stats()
        #expect(TierStats.counter(stats, "tier.pulledSessions") == 1)
        #expect(TierStats.counter(stats, "tier.remoteBlocks") == 36 && stats.blocks == 0)
        let checkpoint = try await client.getCheckpoint(session: "doc")
        #expect(checkpoint.chunkSequence == 7 && checkpoint.tokenCount == 48 && Array(checkpoint.workerState) == Array("worker state".utf8))

        // A retrieve with payloads: the chosen blocks come from the cluster, exactly A's.
        let probe = Shapes.block(layer: 1, position: 3, seed: 5).representativeKey
        let result = try await client.retrieve(RetrieveRequest(
            session: "doc", layer: 1, method: .infllm, mode: .prefill, chunkSequence: 8, probe: probe, heldIDs: [], wantPayloads: true))
        #expect(!result.chosen.isEmpty && result.payloads.count == result.chosen.count)
        for payload in result.payloads {
            let position = Int(result.chosen[Int(payload.index)].position)
            #expect(payload.payload == Shapes.block(layer: 1, position: position, seed: 5).payload)
        }
        stats = try await client.stats()
        #expect(TierStats.counter(stats, "tier.downloadedBlocks") == UInt64(result.chosen.count))
        #expect(TierStats.counter(stats, "tier.remoteBlocks") == UInt64(36 - result.chosen.count))
        #expect(stats.histograms.contains { $0.name == "latency.tier.download" })

        // fetchBlocks of every block of layer 0 and 2: the rest arrives; then B holds all.
        let everything = try await client.fetchBlocks(session: "doc", ids: try await Self.ids(cluster, layers: [0, 2]))
        for block in everything {
            #expect(block.record.payload == blocks.first { $0.layer == block.record.layer && $0.position == block.record.position }!.payload)
        }
        _ = try await client.fetchBlocks(session: "doc", ids: try await Self.ids(cluster, layers: [1]))
        stats = try await client.stats()
        #expect(TierStats.counter(stats, "tier.remoteBlocks") == 0 && stats.blocks == 36)
        #expect(TierStats.counter(stats, "tier.downloadedBlocks") == 36)
        // Served from B's own store now, without the cluster.
        let layer0 = try await Self.ids(cluster, layers: [0])
        cluster.pauseAll(true)
        let again = try await client.fetchBlocks(session: "doc", ids: layer0)
        #expect(again.count == 12)
        cluster.pauseAll(false)
        #expect(try await client.verify().failures.isEmpty)
        client.close()
        try await b.stop()
    }

    @Test("two requests that need the same remote blocks at once: the second waits for the first one's fetch instead of asking the cluster again")
    func concurrentFetchesAreShared() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let blocks = try await Self.publishOnNodeA(cluster)
        let b = try await Self.node(cluster)
        let first = try await b.connect(), second = try await b.connect()
        _ = try await first.openSession("doc")
        _ = try await second.openSession("doc")
        let ids = try await Self.ids(cluster, layers: [0])
        // The cluster stopped while both ask: the first fetch is under way (its GETs written)
        // when the second request arrives.
        cluster.pauseAll(true)
        async let one = first.fetchBlocks(session: "doc", ids: ids)
        try await Task.sleep(for: .milliseconds(300))
        async let two = second.fetchBlocks(session: "doc", ids: ids)
        try await Task.sleep(for: .milliseconds(300))
        cluster.pauseAll(false)
        let (a, c) = try await (one, two)
        for fetched in [a, c] {
            #expect(fetched.map(\.record.payload) == blocks.filter { $0.layer == 0 }.map(\.payload))
        }
        let stats = try await first.stats()
        #expect(TierStats.counter(stats, "tier.downloadedBlocks") == 12, "each block fetched once")
        #expect(TierStats.counter(stats, "tier.downloadsJoined") == 12)
        #expect(TierStats.counter(stats, "tier.remoteBlocks") == 24)
        first.close()
        second.close()
        try await b.stop()
    }

    @Test("a payload in the cluster that does not match its manifest is never served; a manifest of another namespace is refused; with the cluster down an unknown session is sessionNotFound")
    func badTierContentIsRefused() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        _ = try await Self.publishOnNodeA(cluster, positions: 4)
        let redis = try Self.client(cluster)
        defer { redis.close() }
        let name = "\(getuid())/doc"
        let manifest = try SessionManifest.decode(try #require(try await redis.send(RedisCommand(["GET", "kvd:s:{\(name)}:m"])).bytes))

        // Every payload of layer 0 replaced by the bytes of layer 1's block at the same position.
        for (entry, other) in zip(manifest.layers[0], manifest.layers[1]) {
            let bytes = try #require(try await redis.send(RedisCommand(["GET", "kvd:p:\(other.id)"])).bytes)
            _ = try await redis.send(RedisCommand("SET", [Array("kvd:p:\(entry.id)".utf8), bytes]))
        }
        let b = try await Self.node(cluster)
        let client = try await b.connect()
        _ = try await client.openSession("doc")
        let ids = try await Self.ids(cluster, layers: [0])
        await #expect(throws: KVClientError.self) { _ = try await client.fetchBlocks(session: "doc", ids: ids) }
        do {
            _ = try await client.fetchBlocks(session: "doc", ids: ids)
        } catch {
            #expect(error.code == .storageError, "\(error)")
        }
        var stats = try await client.stats()
        #expect(TierStats.counter(stats, "tier.verificationFailures") == 2)
        #expect(TierStats.counter(stats, "tier.remoteBlocks") == 12)  // nothing kept
        // Layer 1's own blocks are fine.
        #expect(try await client.fetchBlocks(session: "doc", ids: try await Self.ids(cluster, layers: [1])).count == 4)
        client.close()

        // The manifest under another name of the same owner, but claiming another namespace.
        var foreign = manifest.encoded()
        foreign.replaceSubrange(18..<22, with: [0xEE, 0xEE, 0, 0])  // namespace u32 LE after magic, version, generation, owner
        var renamed = try SessionManifest.decode(foreign)
        #expect(renamed.namespace == 0xEEEE)
        renamed.name = "\(getuid())/other"
        _ = try await redis.send(RedisCommand("SET", [Array("kvd:s:{\(getuid())/other}:m".utf8), renamed.encoded()]))
        let second = try await b.connect()
        do {
            _ = try await second.openSession("other")
            Issue.record("a manifest of another namespace was materialised")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
        }
        #expect(try await second.allSessions().map(\.name) == ["doc"])

        // The cluster down: an unknown session is simply not found, within the read timeout.
        cluster.pauseAll(true)
        let started = ContinuousClock.now
        do {
            _ = try await second.openSession("nothing")
            Issue.record("opened a session that exists nowhere")
        } catch {
            #expect(error.code == .sessionNotFound, "\(error)")
        }
        // The read timeout (3 s) bounds even a round trip to a node that accepted the connection
        // and never answers (the default retry budget is 30 s); the rest is margin for a loaded
        // machine, where CI measured 15.5 s before round trips kept to the budget.
        #expect(ContinuousClock.now - started < .seconds(20))
        stats = try await second.stats()
        #expect(TierStats.counter(stats, "tier.pullFailures") >= 1)
        cluster.pauseAll(false)
        second.close()
        try await b.stop()
    }

    @Test("the whole cluster down: both nodes keep serving what they hold and take appends; the tier catches up when it returns, and B then pulls what A wrote meanwhile")
    func bothNodesThroughAnOutage() async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let a = try await Self.node(cluster), b = try await Self.node(cluster)
        defer { a.removeFiles(); b.removeFiles() }
        let onA = try await a.connect(), onB = try await b.connect()
        _ = try await onA.createSession("doc", descriptor: Shapes.tiny)
        _ = try await onA.appendBlocks(session: "doc", blocks: (0..<4).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p, seed: 3) } })
        try await onA.closeSession("doc")
        try await TierStats.waitFor(onA, "node A publishes the session") { TierStats.counter($0, "tier.publications") >= 1 }
        _ = try await onB.openSession("doc")
        _ = try await onB.fetchBlocks(session: "doc", ids: try await Self.ids(cluster, layers: [0, 1, 2]))  // B holds it all now

        cluster.pauseAll(true)
        // A: appends acknowledged and queued; B: its pulled session served from its own store.
        _ = try await onA.createSession("more", descriptor: Shapes.tiny)
        let more = (0..<5).flatMap { p in (0..<3).map { Shapes.block(layer: $0, position: p, seed: 4) } }
        _ = try await onA.appendBlocks(session: "more", blocks: more)
        try await onA.closeSession("more")
        #expect(TierStats.counter(try await onA.stats(), "tier.queuedBlocks") == 15)
        let probe = Shapes.block(layer: 2, position: 1, seed: 3).representativeKey
        let served = try await onB.retrieve(RetrieveRequest(
            session: "doc", layer: 2, method: .infllm, mode: .prefill, chunkSequence: 1, probe: probe, heldIDs: [], wantPayloads: true))
        #expect(served.payloads.count == served.chosen.count && !served.chosen.isEmpty)
        _ = try await onB.createSession("local", descriptor: Shapes.tiny)
        _ = try await onB.appendBlocks(session: "local", blocks: [Shapes.block(layer: 0, position: 0, seed: 6)])

        cluster.pauseAll(false)
        try await TierStats.waitFor(onA, "node A catches up") { TierStats.counter($0, "tier.queuedBlocks") == 0 && TierStats.counter($0, "tier.publications") >= 2 }
        try await TierStats.waitFor(onB, "node B's queue drains") { TierStats.counter($0, "tier.queuedBlocks") == 0 }
        // What A wrote during the outage reaches B.
        let info = try await onB.openSession("more")
        #expect(info.blockCounts == [5, 5, 5])
        let fetched = try await onB.fetchBlocks(session: "more", ids: try await Self.ids(cluster, session: "more", layers: [1]))
        #expect(fetched.map { Array($0.record.payload) } == more.filter { $0.layer == 1 }.map { Array($0.payload) })
        onA.close()
        onB.close()
        try await a.stop()
        try await b.stop()
    }

    /// The block ids of `layers` of `session` as its published manifest lists them, in layer then
    /// position order.
    private static func ids(_ cluster: LocalRedisCluster, session: String = "doc", layers: [Int]) async throws -> [BlockID] {
        let redis = try Self.client(cluster)
        defer { redis.close() }
        let bytes = try #require(try await redis.send(RedisCommand(["GET", "kvd:s:{\(getuid())/\(session)}:m"])).bytes)
        let manifest = try SessionManifest.decode(bytes)
        return layers.flatMap { manifest.layers[$0].map(\.id) }
    }
}

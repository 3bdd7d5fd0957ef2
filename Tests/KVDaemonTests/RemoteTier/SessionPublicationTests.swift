import CoreTypes
import Foundation
import Logging
import Protocol
import RedisCluster
import RedisTestSupport
import Testing
@testable import KVDaemon
@testable import KVStore

/// Publishing a session to the shared tier (docs/TIER.md): manifest, keys and checkpoint by
/// generation, against a real Redis Cluster.
@Suite("Shared tier: session manifests", .serialized)
struct SessionPublicationTests {
    @Test("a published session's manifest, keys and checkpoint are in the cluster; a new generation replaces the old")
    func publishAndRepublish() async throws {
        try await Self.withTier { store, tier, executor in
            let d = Shapes.tiny
            _ = try await store.createSession(name: "1000/doc", owner: 1000, descriptor: d)
            let blocks = (0..<6).flatMap { p in (0..<d.layers).map { Shapes.block(layer: $0, position: p) } }
            _ = try await store.append(session: "1000/doc", blocks: blocks.map(Self.newBlock))
            try await store.putCheckpoint(session: "1000/doc", bytes: Array("checkpoint one".utf8))

            // Not before its blocks are in the cluster.
            await #expect(throws: TierError.blocksNotUploaded(count: 18)) { _ = try await tier.publish(session: "1000/doc") }
            // The checkpoint marked the session: the uploader publishes it once its blocks are up.
            #expect(try store.sessionsToPublish().map(\.name) == ["1000/doc"])
            tier.start(on: executor)
            try await Self.waitUntilPublished(store)

            let snapshot = try store.snapshot(session: "1000/doc")
            let manifest = try #require(try await tier.manifest(of: "1000/doc"))
            #expect(manifest == SessionManifest(snapshot: snapshot, generation: 1, namespace: 1000))
            #expect(manifest.descriptor == d && manifest.owner == 1000 && manifest.hasCheckpoint)
            #expect(manifest.layers.map(\.count) == [6, 6, 6])
            for layer in 0..<d.layers {
                let keys = try await tier.redis.send(RedisCommand(["GET", tier.configuration.keysKey("1000/doc", generation: 1, layer: layer)])).bytes
                #expect(keys == Self.floatBytes(snapshot.layers[layer].flatMap(\.key)))
            }
            #expect(try await tier.redis.send(RedisCommand(["GET", tier.configuration.checkpointKey("1000/doc", generation: 1)])).bytes == Array("checkpoint one".utf8))

            // More blocks and a new checkpoint: generation 2; generation 1's keys are gone.
            let more = (6..<8).flatMap { p in (0..<d.layers).map { Shapes.block(layer: $0, position: p) } }
            _ = try await store.append(session: "1000/doc", blocks: more.map(Self.newBlock))
            try await store.putCheckpoint(session: "1000/doc", bytes: Array("checkpoint two".utf8))
            tier.checkpointStored()
            try await Self.waitUntilPublished(store)
            let second = try #require(try await tier.manifest(of: "1000/doc"))
            #expect(second.generation == 2 && second.layers.map(\.count) == [8, 8, 8])
            #expect(try await tier.redis.send(RedisCommand(["GET", tier.configuration.keysKey("1000/doc", generation: 1, layer: 0)])) == .null)
            #expect(try await tier.redis.send(RedisCommand(["GET", tier.configuration.checkpointKey("1000/doc", generation: 1)])) == .null)
            #expect(try await tier.redis.send(RedisCommand(["GET", tier.configuration.checkpointKey("1000/doc", generation: 2)])).bytes == Array("checkpoint two".utf8))
            // Every key of the session is on one master.
            let slot = HashSlot.of(tier.configuration.manifestKey("1000/doc"))
            #expect(HashSlot.of(tier.configuration.keysKey("1000/doc", generation: 2, layer: 2)) == slot && HashSlot.of(tier.configuration.checkpointKey("1000/doc", generation: 2)) == slot)

        }
    }

    @Test("an idle uploader waits: after appends woke it and the queue drained, it looks about five times a second, not in a loop")
    func idleUploaderDoesNotSpin() async throws {
        try await Self.withTier { store, tier, executor in
            tier.start(on: executor)
            _ = try await store.createSession(name: "1000/doc", owner: 1000, descriptor: Shapes.tiny)
            for round in 0..<5 {
                // Each append wakes the uploader before its idle wait ends (the wake a cancelled timer
                // must not repeat).
                _ = try await store.append(session: "1000/doc", blocks: (0..<3).map { Self.newBlock(Shapes.block(layer: $0, position: round)) })
                tier.blocksQueued()
                try await Task.sleep(for: .milliseconds(30))
            }
            try await Self.waitUntilPublished(store)
            let before = tier.uploaderPasses
            try await Task.sleep(for: .seconds(2))
            let passes = tier.uploaderPasses - before
            #expect(passes <= 20, "\(passes) passes in 2 s while idle")
        }
    }

    /// Runs `body` with a store that tracks uploads (in a temporary directory), a tier over a
    /// fresh local cluster and a one-thread executor for its uploader; stops and removes them
    /// afterwards.
    private static func withTier(_ body: (KVStore, RemoteTier, DedicatedExecutor) async throws -> Void) async throws {
        let cluster = try LocalRedisCluster()
        defer { cluster.stop() }
        let directory = NSTemporaryDirectory() + "tier-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var storeConfiguration = StoreConfiguration(directory: directory)
        storeConfiguration.mapSize = 1 << 30
        storeConfiguration.tracksUploads = true
        let store = try KVStore(configuration: storeConfiguration)
        let tier = try RemoteTier(
            configuration: RemoteTierConfiguration(seeds: cluster.seeds), store: store, metrics: DaemonMetrics(), logger: Logger(label: "test"))
        let executor = DedicatedExecutor(threads: 1, name: "tier-test")
        defer { executor.shutdown() }
        do {
            try await body(store, tier, executor)
        } catch {
            await tier.stop()
            await store.close()
            throw error
        }
        await tier.stop()
        await store.close()
    }

    @Test("a manifest round-trips, and truncated or garbled bytes are refused")
    func manifestEncoding() throws {
        let entry = SessionManifest.Entry(id: BlockID(high: 1, low: 2), checksum: 3, rawBytes: 4, storedBytes: 5, prefixHash: PrefixHash(high: 6, low: 7))
        var manifest = try SessionManifest.decode(Self.sample(entry))
        #expect(manifest.layers == [[entry], [], [entry, entry]] && manifest.name == "5/x" && manifest.generation == 9)
        manifest.generation = 10
        #expect(try SessionManifest.decode(manifest.encoded()) == manifest)
        let bytes = manifest.encoded()
        for cut in [0, 3, 10, 40, bytes.count - 1] {
            #expect(throws: ManifestError.self) { _ = try SessionManifest.decode(Array(bytes.prefix(cut))) }
        }
        #expect(throws: ManifestError.self) { _ = try SessionManifest.decode(bytes + [0]) }
        var badMagic = bytes
        badMagic[0] = UInt8(ascii: "X")
        #expect(throws: ManifestError.malformed("not a session manifest")) { _ = try SessionManifest.decode(badMagic) }
        var huge = bytes
        // The first layer's count (u32 LE at 47, after the 44-byte header and the 3-byte name)
        // claims 2^31 blocks.
        huge[50] = 0x80
        #expect(throws: ManifestError.self) { _ = try SessionManifest.decode(huge) }
    }

    /// A manifest written field by field (independently of ``SessionManifest/encoded()``).
    private static func sample(_ entry: SessionManifest.Entry) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("KVTM".utf8)); w.u16(1); w.u64(9); w.u32(5); w.u32(5)
        w.u16(3); w.u16(4); w.u16(2); w.u16(8); w.u8(1); w.u16(4); w.u64(99)
        w.u8(0); w.u16(3); w.raw(Array("5/x".utf8))
        for count in [1, 0, 2] {
            w.u32(UInt32(count))
            for _ in 0..<count { w.blockID(entry.id); w.u32(3); w.u32(4); w.u32(5); w.prefixHash(entry.prefixHash) }
        }
        return w.bytes
    }

    private static func newBlock(_ block: Protocol.BlockRecord) -> NewBlock {
        NewBlock(layer: Int(block.layer), position: Int(block.position), prefixHash: block.prefixHash,
                 representativeKey: block.representativeKey, payload: Array(block.payload))
    }

    private static func floatBytes(_ floats: [Float]) -> [UInt8] {
        var w = ByteWriter()
        w.floats(floats)
        return w.bytes
    }

    /// Waits until nothing is queued and no session is marked for publication.
    private static func waitUntilPublished(_ store: KVStore) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try store.stats().pendingUploads > 0 || !store.sessionsToPublish().isEmpty {
            try #require(ContinuousClock.now < deadline, "uploads and publications did not finish")
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

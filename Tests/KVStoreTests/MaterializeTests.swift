import CoreTypes
import Testing
@testable import KVStore

/// Sessions materialised from the shared tier's copy, payloads fetched later (docs/TIER.md
/// "Reading through"): node A's store writes, node B's store materialises A's snapshot.
@Suite("Materialised sessions")
struct MaterializeTests {
    /// Node A's session "1/doc" (3 layers × 4 blocks, a checkpoint) and its snapshot and uploads.
    static func nodeA(_ dir: TempDirectory) async throws -> (snapshot: SessionSnapshot, stored: [BlockID: [UInt8]], blocks: [NewBlock]) {
        let store = try openStore(dir) { $0.tracksUploads = true }
        let d = testDescriptor()
        _ = try await store.createSession(name: "1/doc", owner: 1, descriptor: d)
        let blocks = testBlocks(d, stream: 7, positions: 0..<4)
        _ = try await store.append(session: "1/doc", blocks: blocks)
        try await store.putCheckpoint(session: "1/doc", bytes: Array(repeating: 0xAB, count: 300))
        let snapshot = try store.snapshot(session: "1/doc")
        let stored = Dictionary(uniqueKeysWithValues: try store.pendingUploads(limit: 1000, maxBytes: .max).map { ($0.id, $0.stored) })
        await store.close()
        return (snapshot, stored, blocks)
    }

    @Test("a materialised session has A's keys, block ids and checkpoint and no payloads; pulled payloads are stored, charged and served; it survives a reopen")
    func materializeThenPull() async throws {
        let a = TempDirectory(), b = TempDirectory()
        defer { a.cleanup(); b.cleanup() }
        let (snapshot, stored, blocks) = try await Self.nodeA(a)
        var ids: [BlockID] = []
        do {
            let store = try openStore(b)
            let record = try await store.materialize(snapshot, namespace: 1)
            #expect(record.blocksPerLayer == [4, 4, 4] && record.hasCheckpoint && record.owner == 1)
            #expect(try store.checkpoint(session: "1/doc") == Array(repeating: 0xAB, count: 300))
            for layer in 0..<3 {
                let (layerIDs, keys) = try store.withRepresentativeKeys(session: "1/doc", layer: layer) { k in
                    (k.ids, Array(k.keys.prefix(k.count * k.dimension)))
                }
                #expect(layerIDs == snapshot.layers[layer].map(\.info.id))
                #expect(keys == snapshot.layers[layer].flatMap(\.key))
                ids += layerIDs
            }
            var stats = store.stats()
            #expect(stats.remoteBlocks == 12 && stats.blocks == 0 && stats.storedBytes == 0 && stats.checkpointBytes == 300)
            let reads = try store.readPayloads(ids)
            for (id, read) in zip(ids, reads) {
                guard case .remote(let info) = read else { Issue.record("\(id) should be remote"); continue }
                #expect(info.storedBytes == stored[id]!.count)
            }
            #expect(throws: StoreError.blockNotFound) { try store.payloads([ids[0]]) }
            #expect(store.verify().failures.isEmpty)

            // Half the payloads arrive.
            try await store.storePulled(ids.prefix(6).map { ($0, stored[$0]!) }, forSession: "1/doc")
            stats = store.stats()
            #expect(stats.remoteBlocks == 6 && stats.blocks == 6)
            #expect(stats.storedBytes == ids.prefix(6).reduce(0) { $0 + stored[$1]!.count })
            #expect(store.usage(ofNamespace: 1) == stats.storedBytes + 300)
            #expect(store.verify().failures.isEmpty)
            await store.close()
        }
        let store = try openStore(b)
        #expect(store.stats().remoteBlocks == 6 && store.stats().blocks == 6)
        try await store.storePulled(ids.map { ($0, stored[$0]!) }, forSession: "1/doc")  // the held six are skipped
        #expect(store.stats().remoteBlocks == 0 && store.stats().blocks == 12)
        // Served exactly as A stored them: each layer's blocks in position order.
        let payloads = try store.payloads(ids)
        let expected = (0..<3).flatMap { layer in blocks.filter { $0.layer == layer }.sorted { $0.position < $1.position }.map { Array($0.payload) } }
        #expect(payloads == expected)
        #expect(store.verify().failures.isEmpty)
        await store.close()
    }

    @Test("a pulled payload whose header names another checksum or length is refused and nothing is stored")
    func wrongPayloadIsRefused() async throws {
        let a = TempDirectory(), b = TempDirectory()
        defer { a.cleanup(); b.cleanup() }
        let (snapshot, stored, _) = try await Self.nodeA(a)
        let store = try openStore(b)
        _ = try await store.materialize(snapshot, namespace: 1)
        let ids = snapshot.layers.flatMap { $0.map(\.info.id) }
        // Another block's bytes under this id, together with a right one: all or nothing.
        await #expect(throws: StoreError.corrupt) {
            try await store.storePulled([(ids[0], stored[ids[0]]!), (ids[1], stored[ids[2]]!)], forSession: "1/doc")
        }
        #expect(store.stats().remoteBlocks == 12 && store.stats().storedBytes == 0)
        #expect(store.verify().failures.isEmpty)
        await store.close()
    }

    @Test("blocks B holds already are referenced, not remote; a stored id holding another block refuses the session; B's own append of a remote block keeps its bytes")
    func sharedAndConflictingBlocks() async throws {
        let a = TempDirectory(), b = TempDirectory()
        defer { a.cleanup(); b.cleanup() }
        let (snapshot, stored, blocks) = try await Self.nodeA(a)
        let store = try openStore(b)
        let d = testDescriptor()
        // B computed the first two positions of every layer of the same document itself.
        _ = try await store.createSession(name: "1/own", owner: 1, descriptor: d)
        _ = try await store.append(session: "1/own", blocks: blocks.filter { $0.position < 2 })
        _ = try await store.materialize(snapshot, namespace: 1)
        #expect(store.stats().remoteBlocks == 6 && store.stats().blocks == 6)
        #expect(store.sessions().first { $0.name == "1/doc" }!.storedBytes == stored.values.reduce(0) { $0 + $1.count })

        // B appends position 2 of layer 0 to its own session: the remote block gets these bytes.
        let third = blocks.filter { $0.layer == 0 && $0.position == 2 }
        _ = try await store.append(session: "1/own", blocks: third)
        #expect(store.stats().remoteBlocks == 5 && store.stats().blocks == 7)
        let id = snapshot.layers[0][2].info.id
        #expect(try store.payloads([id]) == [Array(third[0].payload)])
        #expect(store.verify().failures.isEmpty)

        // A snapshot whose block claims an id B holds with other content: refused whole.
        var forged = snapshot.layers
        forged[0][0] = SnapshotBlock(info: forged[0][0].info, key: forged[0][0].key.map { $0 + 1 })
        let other = SessionSnapshot(
            record: SessionRecord(name: "1/forged", id: 0, owner: 1, descriptor: d, blocksPerLayer: [4, 4, 4], createdAt: 0, lastUsed: 0,
                                  storedBytes: 0, hasCheckpoint: false),
            layers: forged, checkpoint: nil)
        await #expect(throws: StoreError.idConflict) { _ = try await store.materialize(other, namespace: 1) }
        #expect(store.session(named: "1/forged") == nil)
        // In another namespace the same ids are not the same blocks either.
        let elsewhere = SessionSnapshot(record: other.record, layers: snapshot.layers, checkpoint: nil)
        await #expect(throws: StoreError.idConflict) { _ = try await store.materialize(elsewhere, namespace: 2) }
        await #expect(throws: StoreError.sessionExists) { _ = try await store.materialize(snapshot, namespace: 1) }
        #expect(store.verify().failures.isEmpty)
        await store.close()
    }

    @Test("dropping a materialised session removes its remote blocks; payloads beyond the capacity are refused and stay remote")
    func dropAndCapacity() async throws {
        let a = TempDirectory(), b = TempDirectory()
        defer { a.cleanup(); b.cleanup() }
        let (snapshot, stored, _) = try await Self.nodeA(a)
        let ids = snapshot.layers.flatMap { $0.map(\.info.id) }
        let oneBlock = stored[ids[0]]!.count
        let store = try openStore(b) { $0.capacity = 300 + 2 * oneBlock + oneBlock / 2 }
        _ = try await store.materialize(snapshot, namespace: 1)
        try await store.storePulled([(ids[0], stored[ids[0]]!)], forSession: "1/doc")
        await #expect(throws: StoreError.capacityExceeded) {
            try await store.storePulled(ids.prefix(6).map { ($0, stored[$0]!) }, forSession: "1/doc")
        }
        #expect(store.stats().remoteBlocks == 11 && store.stats().blocks == 1)
        try await store.dropSession(named: "1/doc")
        let stats = store.stats()
        #expect(stats.remoteBlocks == 0 && stats.blocks == 0 && stats.storedBytes == 0 && stats.checkpointBytes == 0)
        #expect(store.verify().failures.isEmpty)
        await store.close()
    }
}

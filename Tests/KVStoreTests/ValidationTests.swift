import CoreTypes
import Testing
@testable import KVStore

@Suite("Validation: typed errors, nothing written")
struct ValidationTests {
    /// A store with session "s" holding 2 blocks per layer.
    static func prepared(_ dir: TempDirectory) async throws -> (KVStore, ModelDescriptor, [NewBlock]) {
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "s", owner: 7, descriptor: d)
        let blocks = testBlocks(d, stream: 3, positions: 0..<2)
        _ = try await store.append(session: "s", blocks: blocks)
        return (store, d, blocks)
    }

    /// Snapshot of everything a failed write must leave unchanged.
    struct Snapshot: Equatable {
        var record: SessionRecord?
        var blocks: Int
        var storedBytes: Int
        var keyCounts: [Int]
        init(_ store: KVStore) throws {
            record = store.session(named: "s")
            record?.lastUsed = 0  // a retry is a use: it may move lastUsed (seconds), nothing else
            let stats = store.stats()
            blocks = stats.blocks
            storedBytes = stats.storedBytes
            keyCounts = try (0..<3).map { l in try store.withRepresentativeKeys(session: "s", layer: l) { $0.count } }
        }
    }

    static func next(_ d: ModelDescriptor, layer: Int = 0, position: Int = 2) -> NewBlock {
        testBlocks(d, stream: 3, positions: position..<(position + 1), layers: [layer])[0]
    }

    @Test("wrong payload size, wrong key dimension, bad layer, bad position → typed errors, and a valid block in the same call is not written")
    func badBlocks() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let (store, d, _) = try await Self.prepared(dir)
        let before = try Snapshot(store)
        let good = Self.next(d)

        var short = Self.next(d, layer: 1)
        short.payload.removeLast()
        await #expect(throws: StoreError.wrongSize(expected: d.payloadBytes, got: d.payloadBytes - 1)) {
            _ = try await store.append(session: "s", blocks: [good, short])
        }
        var key = Self.next(d, layer: 1)
        key.representativeKey.append(1)
        await #expect(throws: StoreError.wrongKeyDimension(expected: d.vectorDimension, got: d.vectorDimension + 1)) {
            _ = try await store.append(session: "s", blocks: [good, key])
        }
        var layer = Self.next(d)
        layer.layer = 3
        await #expect(throws: StoreError.badLayer) { _ = try await store.append(session: "s", blocks: [good, layer]) }
        layer.layer = -1
        await #expect(throws: StoreError.badLayer) { _ = try await store.append(session: "s", blocks: [good, layer]) }
        // A gap: position 3 while the layer holds 2.
        let gap = Self.next(d, layer: 1, position: 3)
        await #expect(throws: StoreError.badPosition(expected: 2, got: 3)) {
            _ = try await store.append(session: "s", blocks: [good, gap])
        }
        // Within one call the count advances: a second position 2 for layer 0 is stale
        // (a different block than the one just placed there).
        var stale = Self.next(d, layer: 0, position: 2)
        stale.prefixHash = testPrefix(stream: 99, index: 0)
        await #expect(throws: StoreError.badPosition(expected: 3, got: 2)) {
            _ = try await store.append(session: "s", blocks: [good, stale])
        }
        var negative = Self.next(d)
        negative.position = -1
        await #expect(throws: StoreError.badPosition(expected: 0, got: -1)) {
            _ = try await store.append(session: "s", blocks: [negative])
        }
        #expect(try Snapshot(store) == before)
        #expect(store.verify().isOK)

        // The valid block alone is accepted afterwards.
        _ = try await store.append(session: "s", blocks: [good])
        #expect(store.session(named: "s")?.blocksPerLayer == [3, 2, 2])
        await store.close()
    }

    @Test("re-sending stored blocks is an idempotent no-op; a different block at a stored position is rejected")
    func idempotentRetry() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let (store, d, blocks) = try await Self.prepared(dir)
        let before = try Snapshot(store)
        let ids = try await store.append(session: "s", blocks: blocks)
        #expect(ids == blocks.map { BlockID.derive(namespace: 7, descriptor: d, layer: $0.layer, prefixHash: $0.prefixHash) })
        #expect(try Snapshot(store) == before)

        var other = blocks[0]
        other.prefixHash = testPrefix(stream: 77, index: 0)
        await #expect(throws: StoreError.badPosition(expected: 2, got: 0)) {
            _ = try await store.append(session: "s", blocks: [other])
        }
        #expect(try Snapshot(store) == before)
        await store.close()
    }

    @Test("unknown session, duplicate session, invalid names and descriptors, descriptor mismatch")
    func sessionErrors() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let (store, d, blocks) = try await Self.prepared(dir)
        let before = try Snapshot(store)
        await #expect(throws: StoreError.sessionNotFound) { _ = try await store.append(session: "nope", blocks: blocks) }
        await #expect(throws: StoreError.sessionNotFound) { try await store.dropSession(named: "nope") }
        for impossible in ["", String(repeating: "y", count: 600)] {
            await #expect(throws: StoreError.sessionNotFound) { try await store.dropSession(named: impossible) }
            await #expect(throws: StoreError.sessionNotFound) { _ = try await store.append(session: impossible, blocks: blocks) }
            await #expect(throws: StoreError.sessionNotFound) {
                _ = try await store.forkSession(source: impossible, into: "f", owner: 1, blocksPerLayer: 0)
            }
            #expect(throws: StoreError.sessionNotFound) { try store.checkpoint(session: impossible) }
        }
        await #expect(throws: StoreError.sessionNotFound) { try await store.putCheckpoint(session: "nope", bytes: [1]) }
        #expect(throws: StoreError.sessionNotFound) { try store.checkpoint(session: "nope") }
        #expect(throws: StoreError.sessionNotFound) { try store.withRepresentativeKeys(session: "nope", layer: 0) { $0.count } }
        #expect(throws: StoreError.badLayer) { try store.withRepresentativeKeys(session: "s", layer: 3) { $0.count } }
        await #expect(throws: StoreError.sessionExists) { _ = try await store.createSession(name: "s", owner: 1, descriptor: d) }
        for name in ["", String(repeating: "x", count: 512), "a\u{0}b"] {
            await #expect(throws: StoreError.invalidName) { _ = try await store.createSession(name: name, owner: 1, descriptor: d) }
        }
        var bad = d
        bad.headDim = 0
        await #expect(throws: StoreError.invalidDescriptor) { _ = try await store.createSession(name: "t", owner: 1, descriptor: bad) }
        bad = d
        bad.blockSize = 1 << 40
        await #expect(throws: StoreError.invalidDescriptor) { _ = try await store.createSession(name: "t", owner: 1, descriptor: bad) }

        // The session was re-created with another model between validation and the write.
        var other = d
        other.fingerprint += 1
        let prepared = PreparedBlock(
            layer: 0, position: 2, id: BlockID(high: 1, low: 2), prefixHash: PrefixHash(high: 3, low: 4), key: testKey(d, seed: 1),
            stored: PayloadCodec.encode(blocks[0].payload, level: 1), rawLength: d.payloadBytes, checksum: 0)
        await #expect(throws: StoreError.descriptorMismatch) {
            _ = try await store.core.write(.append(session: "s", descriptor: other, namespace: 7, blocks: [prepared]))
        }
        // … or by another owner: the ids were derived in the old owner's namespace.
        await #expect(throws: StoreError.descriptorMismatch) {
            _ = try await store.core.write(.append(session: "s", descriptor: d, namespace: 8, blocks: [prepared]))
        }
        #expect(try Snapshot(store) == before)
        #expect(store.sessions().map(\.name) == ["s"])
        await store.close()
    }

    @Test("a closed store answers .closed")
    func closedStore() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let (store, d, blocks) = try await Self.prepared(dir)
        let id = BlockID.derive(namespace: 7, descriptor: d, layer: 0, prefixHash: blocks[0].prefixHash)
        await store.close()
        await store.close()  // idempotent
        await #expect(throws: StoreError.closed) { _ = try await store.append(session: "s", blocks: blocks) }
        await #expect(throws: StoreError.closed) { _ = try await store.createSession(name: "n", owner: 1, descriptor: d) }
        #expect(throws: StoreError.closed) { try store.payloads([id]) }
        #expect(throws: StoreError.closed) { try store.withRepresentativeKeys(session: "s", layer: 0) { $0.count } }
        #expect(!store.verify().isOK)
    }
}

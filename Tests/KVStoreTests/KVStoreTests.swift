import CoreTypes
import Foundation
import Testing
@testable import KVStore

@Suite("KVStore persistence")
struct KVStorePersistenceTests {
    @Test("blocks read back bit-exact across close and reopen; keys rebuilt identically")
    func roundTripAcrossReopen() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let blocks = testBlocks(d, stream: 1, positions: 0..<5)
        var ids: [BlockID] = []
        var keysBefore: [[Float]] = []
        var idsBefore: [[BlockID]] = []
        do {
            let store = try openStore(dir)
            let created = try await store.createSession(name: "doc", owner: 1000, descriptor: d)
            #expect(created.blocksPerLayer == [0, 0, 0])
            ids = try await store.append(session: "doc", blocks: Array(blocks.prefix(6)))
            ids += try await store.append(session: "doc", blocks: Array(blocks.dropFirst(6)))
            #expect(ids.count == blocks.count)
            #expect(Set(ids).count == blocks.count)
            for (b, id) in zip(blocks, ids) {
                #expect(id == BlockID.derive(namespace: 1000, descriptor: d, layer: b.layer, prefixHash: b.prefixHash))
            }
            let payloads = try store.payloads(ids)
            #expect(payloads == blocks.map { Array($0.payload) })
            for l in 0..<d.layers {
                try store.withRepresentativeKeys(session: "doc", layer: l) { rk in
                    #expect(rk.count == 5)
                    #expect(rk.dimension == d.vectorDimension)
                    keysBefore.append(Array(rk.keys))
                    idsBefore.append(rk.ids)
                }
            }
            // Row i of layer l is the key of block (position i, layer l).
            for b in blocks {
                #expect(Array(keysBefore[b.layer][(b.position * d.vectorDimension)..<((b.position + 1) * d.vectorDimension)]) == b.representativeKey)
            }
            #expect(store.session(named: "doc")?.blocksPerLayer == [5, 5, 5])
            await store.close()
        }
        let store = try openStore(dir)
        let record = try #require(store.session(named: "doc"))
        #expect(record.blocksPerLayer == [5, 5, 5])
        #expect(record.owner == 1000)
        #expect(record.descriptor == d)
        #expect(try store.payloads(ids) == blocks.map { Array($0.payload) })
        for l in 0..<d.layers {
            try store.withRepresentativeKeys(session: "doc", layer: l) { rk in
                #expect(Array(rk.keys) == keysBefore[l])
                #expect(rk.ids == idsBefore[l])
            }
        }
        let stats = store.stats()
        #expect(stats.blocks == 15)
        #expect(stats.rawBytes == 15 * d.payloadBytes)
        #expect(stats.storedBytes == record.storedBytes)
        #expect(store.verify().isOK)
        await store.close()
    }
}

@Suite("Opening")
struct OpeningTests {
    @Test("a directory is served by one open store at a time; closing releases it")
    func exclusiveDirectory() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let first = try openStore(dir)
        _ = try await first.createSession(name: "s", owner: 1, descriptor: testDescriptor())
        #expect(throws: StoreError.locked) { try openStore(dir) }
        await first.close()
        let second = try openStore(dir)
        #expect(second.sessions().map(\.name) == ["s"])
        await second.close()
    }

    @Test("a store of another format version refuses to open; a forgotten close() still persists everything")
    func formatVersionAndDeinit() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let blocks = testBlocks(d, stream: 5, positions: 0..<2)
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            _ = try await store.append(session: "s", blocks: blocks)
            store.touch(session: "s")
            // No close(): deinit shuts down.
        }
        do {
            let store = try openStore(dir)
            #expect(store.session(named: "s")?.blocksPerLayer == [2, 2, 2])
            // Rewrite the format version behind the store's back.
            let txn = try store.core.lmdb.write()
            var w = ByteWriter()
            w.u32(99)
            try txn.put(store.core.lmdb.meta, Array("format".utf8), w.bytes)
            try txn.commit()
            await store.close()
        }
        #expect(throws: StoreError.unsupportedFormat(version: 99)) { try openStore(dir) }
        // The failed open released the directory lock.
        #expect(throws: StoreError.unsupportedFormat(version: 99)) { try openStore(dir) }
    }
}

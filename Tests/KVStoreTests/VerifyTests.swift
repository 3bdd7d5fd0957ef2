import CoreTypes
import Foundation
import Testing
@testable import KVStore

@Suite("Verify and corruption detection")
struct VerifyTests {
    @Test("a flipped byte in a payload on disk is found by verify and by payloads() with .corrupt")
    func onDiskCorruption() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let blocks = testBlocks(d, stream: 31, positions: 0..<3)
        var ids: [BlockID] = []
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            ids = try await store.append(session: "s", blocks: blocks)
            let report = store.verify()
            #expect(report.isOK)
            #expect(report.blocksChecked == blocks.count)
            #expect(report.referencesChecked == blocks.count)
            await store.close()
        }
        // Find the victim's stored bytes in the data file and flip one byte in its zstd body.
        let victim = 4
        let encoded = PayloadCodec.encode(blocks[victim].payload, level: 3)
        let file = dir.path + "/data.mdb"
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let range = try #require(data.firstRange(of: Data(encoded)))
        data[range.lowerBound + encoded.count / 2] ^= 0x10
        try data.write(to: URL(fileURLWithPath: file))

        let store = try openStore(dir)
        #expect(throws: StoreError.corrupt) { try store.payloads([ids[victim]]) }
        #expect(throws: StoreError.corrupt) { try store.payloads(ids) }
        let others = ids.indices.filter { $0 != victim }
        #expect(try store.payloads(others.map { ids[$0] }) == others.map { Array(blocks[$0].payload) })
        let report = store.verify()
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.block == ids[victim])
        #expect(report.failures.first?.kind == .payloadCorrupt)
        print("verify: \(report.failures)")
        await store.close()
    }

    @Test("verify finds reference-count and layer-list inconsistencies")
    func structuralChecks() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor(layers: 1)
        let store = try openStore(dir)
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        let ids = try await store.append(session: "s", blocks: testBlocks(d, stream: 32, positions: 0..<2))
        // Tamper through LMDB directly: bump a refcount, delete a layer entry.
        let lmdb = store.core.lmdb
        let txn = try lmdb.write()
        var meta = try BlockMeta.decode(try #require(try txn.get(lmdb.blocks, StorageKeys.block(ids[0]))))
        meta.refcount += 1
        try txn.put(lmdb.blocks, StorageKeys.block(ids[0]), meta.encoded())
        let id = try #require(store.core.state.withLock { $0.sessions["s"]?.id })
        try txn.delete(lmdb.layers, StorageKeys.layerEntry(session: id, layer: 0, position: 1))
        try txn.put(lmdb.checkpoints, StorageKeys.checkpoint(session: 999), [1, 2, 3])
        try txn.put(lmdb.checkpoints, StorageKeys.checkpoint(session: id), [4])
        try txn.commit()
        let failures = store.verify().failures
        let kinds = Set(failures.map(\.kind))
        #expect(kinds == [.checkpointMismatch, .referenceCountMismatch, .layerListMismatch, .storedBytesMismatch], "\(failures)")
        let reasons = failures.map(\.reason)
        #expect(reasons.contains("checkpoint of unknown session id 999"))
        #expect(reasons.contains("checkpoint flag does not match the stored checkpoint"))
        #expect(reasons.contains { $0.hasPrefix("reference count 2") })
        #expect(reasons.contains("layer lists do not match the block counts"))
        #expect(reasons.contains { $0.hasPrefix("stored bytes") })
        await store.close()
        // A store whose layer lists disagree with its records refuses to open rather than
        // serving wrong keys.
        #expect(throws: StoreError.corrupt) { try openStore(dir) }
    }
}

@Suite("Inspection: block info, compacted copy")
struct InspectionTests {
    @Test("blockInfo reports layer, codec, references and sizes; a compacted copy opens with the same content")
    func blockInfoAndCompactCopy() async throws {
        let dir = TempDirectory()
        let copy = TempDirectory()
        defer { dir.cleanup(); copy.cleanup() }
        let d = testDescriptor()
        let store = try openStore(dir)
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        let blocks = testBlocks(d, stream: 40, positions: 0..<3)
        let ids = try await store.append(session: "a", blocks: blocks)
        _ = try await store.forkSession(source: "a", into: "b", owner: 1, blocksPerLayer: 1)
        let info = try #require(try store.blockInfo(ids[0]))
        #expect(info.layer == blocks[0].layer)
        #expect(info.referenceCount == 2)
        #expect(info.codec == PayloadCodec.shuffle16Zstd.rawValue)
        #expect(info.rawBytes == d.payloadBytes)
        #expect(info.storedBytes == PayloadCodec.encode(blocks[0].payload, level: 3).count)
        #expect(info.checksum == CRC32C.checksum(blocks[0].payload))
        #expect(try store.blockInfo(ids.last!)?.referenceCount == 1)
        #expect(try store.blockInfo(BlockID(high: 1, low: 1)) == nil)

        try await store.dropSession(named: "a")
        try store.compactCopy(to: copy.path)
        await store.close()
        let copied = try openStore(copy)
        #expect(copied.sessions().map(\.name) == ["b"])
        #expect(try copied.payloads(Array(ids.prefix(d.layers))) == blocks.prefix(d.layers).map { Array($0.payload) })
        #expect(copied.verify().isOK)
        await copied.close()
    }
}

@Suite("Malformed stores are typed errors, never crashes")
struct MalformedStoreTests {
    @Test("a truncated data file refuses to open with .corrupt")
    func truncatedFile() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            _ = try await store.append(session: "s", blocks: testBlocks(d, stream: 80, positions: 0..<4))
            await store.close()
        }
        let file = dir.path + "/data.mdb"
        let size = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(truncate(file, off_t(size / 2)) == 0)
        #expect(throws: StoreError.corrupt) { try openStore(dir) }
    }

    @Test("malformed session records and block metadata give .corrupt on open", arguments: 0..<6)
    func malformedRecords(kind: Int) async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let store = try openStore(dir)
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        let ids = try await store.append(session: "s", blocks: testBlocks(d, stream: 81, positions: 0..<1))
        let lmdb = store.core.lmdb
        let txn = try lmdb.write()
        let session = Array(try #require(try txn.get(lmdb.sessions, StorageKeys.session("s"))))
        let meta = Array(try #require(try txn.get(lmdb.blocks, StorageKeys.block(ids[0]))))
        switch kind {
        case 0: try txn.put(lmdb.sessions, StorageKeys.session("s"), Array(session.prefix(30)))  // truncated
        case 1: try txn.put(lmdb.sessions, StorageKeys.session("s"), [2] + session.dropFirst())  // unknown version
        case 2:  // unknown element type
            var v = session
            v[2] = 9
            try txn.put(lmdb.sessions, StorageKeys.session("s"), v)
        case 3:  // name length past the end
            var v = session
            let at = 4 + 8 + 4 + 5 * 4 + 8 + 8 + 8 + 8 + 8
            v[at] = 0xff
            v[at + 1] = 0xff
            try txn.put(lmdb.sessions, StorageKeys.session("s"), v)
        case 4: try txn.put(lmdb.blocks, StorageKeys.block(ids[0]), Array(meta.prefix(meta.count - 3)))  // truncated key
        default: try txn.put(lmdb.layers, StorageKeys.layerEntry(session: 1, layer: 0, position: 0), [1, 2, 3])  // short id
        }
        try txn.commit()
        #expect(!store.verify().isOK)
        await store.close()
        #expect(throws: StoreError.corrupt) { try openStore(dir) }
    }
}

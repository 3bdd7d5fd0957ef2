import CoreTypes
import Testing
@testable import KVStore

/// Block metadata records (StoredRecords.swift `BlockMeta`) and what `blockInfo` reports.
@Suite("Block metadata")
struct BlockMetaTests {
    @Test("the prefix hash a block was appended with is kept and reported")
    func prefixHashIsKept() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        let blocks = testBlocks(d, stream: 9, positions: 0..<4)
        let ids = try await store.append(session: "s", blocks: blocks)
        for (id, block) in zip(ids, blocks) {
            let info = try #require(try store.blockInfo(id))
            #expect(info.prefixHash == block.prefixHash)
            #expect(info.prefixHash != PrefixHash(high: 0, low: 0))
        }
        await store.close()
        let reopened = try openStore(dir)
        #expect(try reopened.blockInfo(ids[2])?.prefixHash == blocks[2].prefixHash, "after a reopen")
        await reopened.close()
    }

    @Test("version-1 and -2 records (no prefix hash, no namespace) still decode; a bad length is corrupt")
    func versionOneStillDecodes() throws {
        let key: [Float] = [0.5, -1.25, 3]
        let meta = BlockMeta(
            codec: 1, refcount: 2, layer: 7, rawLength: 100, storedLength: 60, checksum: 0xDEAD_BEEF, key: key,
            prefixHash: PrefixHash(high: 11, low: 12), namespace: 4242)
        let v3 = meta.encoded()
        #expect(v3[0] == 3)
        #expect(try v3.withUnsafeBytes { try BlockMeta.decode($0) }.namespace == 4242)
        // The same record as version 2 wrote it: no trailing namespace.
        var v2 = Array(v3.dropLast(4))
        v2[0] = 2
        #expect(try v2.withUnsafeBytes { try BlockMeta.decode($0) }.namespace == nil)
        // The same record as version 1 wrote it: no trailing prefix hash.
        var v1 = Array(v2.dropLast(16))
        v1[0] = 1
        let old = try v1.withUnsafeBytes { try BlockMeta.decode($0) }
        #expect(old.prefixHash == PrefixHash(high: 0, low: 0))
        #expect(old.key == key && old.layer == 7 && old.refcount == 2 && old.checksum == 0xDEAD_BEEF)
        let new = try v2.withUnsafeBytes { try BlockMeta.decode($0) }
        #expect(new.prefixHash == PrefixHash(high: 11, low: 12) && new.key == key)
        v2.removeLast()
        #expect(throws: StoreError.corrupt) { try v2.withUnsafeBytes { _ = try BlockMeta.decode($0) } }
        v1[0] = 4
        #expect(throws: StoreError.corrupt) { try v1.withUnsafeBytes { _ = try BlockMeta.decode($0) } }
    }
}

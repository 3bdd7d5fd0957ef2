import CLMDB
import CoreTypes
import Testing
@testable import KVStore

/// What the store keeps per owner namespace: block ids, the bytes charged (blocks and
/// checkpoints), renames, and the upgrade of stores written before namespaces existed.
@Suite("Owner namespaces")
struct OwnerNamespaceTests {
    @Test("bytes are charged to the writer's namespace, checkpoints included; the charge survives reopen and a drop returns it")
    func usageIsCharged() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "a", owner: 1000, descriptor: d)
            _ = try await store.createSession(name: "b", owner: 2000, descriptor: d)
            _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 1, positions: 0..<2))
            _ = try await store.append(session: "b", blocks: testBlocks(d, stream: 2, positions: 0..<1))
            try await store.putCheckpoint(session: "a", bytes: [UInt8](repeating: 1, count: 1000))
            try await store.putCheckpoint(session: "a", bytes: [UInt8](repeating: 2, count: 300))  // replaces: 300 counted
            let stats = store.stats()
            #expect(stats.checkpointBytes == 300)
            #expect(store.usage(ofNamespace: 1000) + store.usage(ofNamespace: 2000) == stats.storedBytes + 300)
            #expect(store.usage(ofNamespace: 2000) > 0 && store.usage(ofNamespace: 1000) > store.usage(ofNamespace: 2000))
            await store.close()
        }
        let store = try openStore(dir)
        let before = store.usage(ofNamespace: 1000)
        #expect(store.stats().checkpointBytes == 300, "after reopen")
        try await store.dropSession(named: "a")
        #expect(store.usage(ofNamespace: 1000) == 0 && before > 0)
        #expect(store.stats().checkpointBytes == 0)
        #expect(store.usage(ofNamespace: 2000) == store.stats().storedBytes)
        await store.close()
    }

    @Test("renames move a session with its blocks and checkpoint, all or nothing")
    func renames() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let store = try openStore(dir)
        for name in ["a", "b", "c"] { _ = try await store.createSession(name: name, owner: 1, descriptor: d) }
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 1, positions: 0..<2))
        try await store.putCheckpoint(session: "a", bytes: [9, 9])
        await #expect(throws: StoreError.sessionExists) { try await store.renameSessions([("a", "1/a"), ("b", "c")]) }
        #expect(store.sessions().map(\.name) == ["a", "b", "c"], "nothing renamed")
        try await store.renameSessions([("a", "1/a"), ("b", "1/b")])
        #expect(store.sessions().map(\.name) == ["1/a", "1/b", "c"])
        #expect(try store.checkpoint(session: "1/a") == [9, 9])
        #expect(store.session(named: "1/a")?.blocksPerLayer == [2, 2, 2])
        await store.close()
        let reopened = try openStore(dir)
        #expect(reopened.sessions().map(\.name) == ["1/a", "1/b", "c"])
        #expect(try reopened.withRepresentativeKeys(session: "1/a", layer: 1) { $0.count } == 2)
        #expect(reopened.verify().isOK)
        await reopened.close()
    }

    @Test("a store of format 1 (block records without a namespace) is upgraded on open and charged to its owners")
    func formatOneUpgrade() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "doc", owner: 1000, descriptor: d)
            _ = try await store.append(session: "doc", blocks: testBlocks(d, stream: 1, positions: 0..<2))
            await store.close()
        }
        // Rewrite it as the previous version did: version-2 block records, format 1.
        do {
            let lmdb = try LMDBEnvironment(directory: dir.path, mapSize: 1 << 30, maxReaders: 4, noSync: false)
            let txn = try lmdb.write()
            var old: [([UInt8], [UInt8])] = []
            try txn.scan(lmdb.blocks, prefix: []) { (k, v) throws(StoreError) in
                var record = Array(v.dropLast(4))
                record[0] = 2
                old.append((Array(k), record))
                return true
            }
            for (k, v) in old { try txn.put(lmdb.blocks, k, v) }
            var w = ByteWriter()
            w.u32(1)
            try txn.put(lmdb.meta, Array("format".utf8), w.bytes)
            try txn.commit()
            lmdb.close()
        }
        let store = try openStore(dir)
        #expect(store.usage(ofNamespace: 1000) == store.stats().storedBytes)
        #expect(store.usage(ofNamespace: 1000) > 0)
        #expect(store.verify().isOK)
        await store.close()
        let lmdb = try LMDBEnvironment(directory: dir.path, mapSize: 1 << 30, maxReaders: 4, noSync: false)
        #expect(lmdb.openedFormat == LMDBEnvironment.formatVersion)
        let txn = try lmdb.read()
        try txn.scan(lmdb.blocks, prefix: []) { (_, v) throws(StoreError) in
            #expect(try BlockMeta.decode(v).namespace == 1000)
            return true
        }
        txn.abort()
        lmdb.close()
    }
}

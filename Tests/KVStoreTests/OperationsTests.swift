import Foundation
import Testing
@testable import KVStore

/// `KVStore.backup(to:)`, `KVStore.compact(directory:)` and `sessionUsage(named:)`.
@Suite("Backup, compaction and session usage")
struct OperationsTests {
    @Test("a backup is a complete store with every committed block; a non-empty target is refused")
    func backupIsACompleteStore() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "s", owner: 7, descriptor: d)
        let blocks = testBlocks(d, stream: 3, positions: 0..<5)
        let ids = try await store.append(session: "s", blocks: blocks)
        let target = dir.path + "/backup"
        let summary = try store.backup(to: target)
        #expect(summary.sessions == 1 && summary.blocks == blocks.count && summary.bytes > 0)
        #expect(throws: StoreError.io(errno: ENOTEMPTY)) { try store.backup(to: target) }
        // A store keeps serving after a backup; the copy is independent of it.
        _ = try await store.append(session: "s", blocks: testBlocks(d, stream: 3, positions: 5..<6))
        await store.close()

        let copy = try KVStore(configuration: { var c = StoreConfiguration(directory: target); c.mapSize = 1 << 30; return c }())
        #expect(copy.session(named: "s")?.blocksPerLayer == [5, 5, 5])
        #expect(try copy.payloads(ids) == blocks.map { Array($0.payload) })
        #expect(copy.verify().isOK)
        await copy.close()
    }

    @Test("compaction refuses an open store, then shrinks the file and keeps every block")
    func compactionShrinksAndKeepsData() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "keep", owner: 1, descriptor: d)
        _ = try await store.createSession(name: "gone", owner: 1, descriptor: d)
        let kept = testBlocks(d, stream: 1, positions: 0..<4)
        let keptIDs = try await store.append(session: "keep", blocks: kept)
        _ = try await store.append(session: "gone", blocks: testBlocks(d, stream: 2, positions: 0..<200))
        try await store.dropSession(named: "gone")
        #expect(throws: StoreError.locked) { try KVStore.compact(directory: dir.path) }
        await store.close()

        let summary = try KVStore.compact(directory: dir.path)
        #expect(summary.bytesAfter < summary.bytesBefore, "\(summary)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/compact.tmp"))
        let reopened = try openStore(dir)
        #expect(try reopened.payloads(keptIDs) == kept.map { Array($0.payload) })
        #expect(reopened.session(named: "gone") == nil)
        #expect(reopened.verify().isOK)
        await reopened.close()
    }

    @Test("session usage counts shared references, raw bytes and stored bytes per layer")
    func sessionUsage() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 9, positions: 0..<3))
        #expect(try store.sessionUsage(named: "a")?.sharedReferences == 0)
        _ = try await store.forkSession(source: "a", into: "b", owner: 1, blocksPerLayer: 1)
        store.pin(session: "a")
        let usage = try #require(try store.sessionUsage(named: "a"))
        #expect(usage.sharedReferences == d.layers)
        #expect(usage.rawBytes == 3 * d.layers * d.payloadBytes)
        #expect(usage.layerStoredBytes.count == d.layers)
        #expect(usage.layerStoredBytes.reduce(0, +) == usage.record.storedBytes)
        #expect(usage.pins == 1)
        #expect(try store.sessionUsage(named: "nope") == nil)
        await store.close()
    }
}

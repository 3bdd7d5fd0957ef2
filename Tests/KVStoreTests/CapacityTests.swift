import CoreTypes
import Foundation
import Testing
@testable import KVStore

@Suite("Capacity, eviction, full map")
struct CapacityTests {
    /// Stored bytes of the blocks of `stream`, positions 0..<2, all layers.
    static func storedBytes(_ d: ModelDescriptor, stream: UInt64) -> Int {
        testBlocks(d, stream: stream, positions: 0..<2).map { PayloadCodec.encode($0.payload, level: 3).count }.reduce(0, +)
    }

    @Test("least-recently-used unpinned sessions are evicted whole; pinned ones never")
    func lruEviction() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let perSession = Self.storedBytes(d, stream: 1)
        // Room for two sessions, not three.
        let store = try openStore(dir) { $0.capacity = perSession * 5 / 2 }
        func fill(_ name: String, _ stream: UInt64) async throws {
            _ = try await store.createSession(name: name, owner: 1, descriptor: d)
            _ = try await store.append(session: name, blocks: testBlocks(d, stream: stream, positions: 0..<2))
        }
        try await fill("s1", 1)
        try await fill("s2", 2)
        store.pin(session: "s1")
        try await fill("s3", 3)  // s1 is older but pinned: s2 goes
        #expect(store.sessions().map(\.name) == ["s1", "s3"])
        #expect(store.stats().evictions == 1)
        #expect(store.stats().storedBytes <= perSession * 5 / 2)

        store.unpin(session: "s1")
        store.touch(session: "s3")
        try await fill("s4", 4)  // s1 is now the least recently used
        #expect(store.sessions().map(\.name) == ["s3", "s4"])

        store.touch(session: "s3")
        try await fill("s5", 5)  // s4 was used before s3's touch
        #expect(store.sessions().map(\.name) == ["s3", "s5"])
        #expect(store.stats().evictions == 3)
        #expect(store.stats().pinnedSessions == 0)

        // Pins are counted: two pins need two unpins.
        store.pin(session: "s3")
        store.pin(session: "s3")
        store.unpin(session: "s3")
        try await fill("s6", 6)
        #expect(store.sessions().map(\.name) == ["s3", "s6"])
        #expect(store.verify().isOK)
        await store.close()
    }

    @Test("the use order (including touch) survives close and reopen")
    func lruAcrossReopen() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let perSession = Self.storedBytes(d, stream: 1)
        do {
            let store = try openStore(dir)
            for (name, stream) in [("a", UInt64(1)), ("b", 2)] {
                _ = try await store.createSession(name: name, owner: 1, descriptor: d)
                _ = try await store.append(session: name, blocks: testBlocks(d, stream: stream, positions: 0..<2))
            }
            store.touch(session: "a")  // now b is the least recently used
            await store.close()
        }
        let store = try openStore(dir) { $0.capacity = perSession * 5 / 2 }
        _ = try await store.createSession(name: "c", owner: 1, descriptor: d)
        _ = try await store.append(session: "c", blocks: testBlocks(d, stream: 3, positions: 0..<2))
        #expect(store.sessions().map(\.name) == ["a", "c"])
        await store.close()
        // Evictions are durable like drops.
        let reopened = try openStore(dir)
        #expect(reopened.sessions().map(\.name) == ["a", "c"])
        #expect(reopened.verify().isOK)
        await reopened.close()
    }

    @Test("when nothing can be evicted the append fails with .capacityExceeded and writes nothing")
    func capacityExceeded() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let perSession = Self.storedBytes(d, stream: 1)
        let store = try openStore(dir) { $0.capacity = perSession * 5 / 2 }
        for (name, stream) in [("a", UInt64(1)), ("b", 2)] {
            _ = try await store.createSession(name: name, owner: 1, descriptor: d)
            _ = try await store.append(session: name, blocks: testBlocks(d, stream: stream, positions: 0..<2))
            store.pin(session: name)
        }
        _ = try await store.createSession(name: "c", owner: 1, descriptor: d)
        let before = store.stats()
        await #expect(throws: StoreError.capacityExceeded) {
            _ = try await store.append(session: "c", blocks: testBlocks(d, stream: 3, positions: 0..<2))
        }
        #expect(store.sessions().map(\.name) == ["a", "b", "c"])
        #expect(store.session(named: "c")?.blocksPerLayer == [0, 0, 0])
        #expect(store.stats().storedBytes == before.storedBytes)
        #expect(store.stats().evictions == 0)

        // The session being appended to is never evicted to make room for itself, and a single
        // append larger than the capacity fails even with everything else unpinned.
        store.unpin(session: "a")
        store.unpin(session: "b")
        await #expect(throws: StoreError.capacityExceeded) {
            _ = try await store.append(session: "c", blocks: testBlocks(d, stream: 3, positions: 0..<6))
        }
        #expect(store.sessions().map(\.name) == ["a", "b", "c"])
        // A fitting append proceeds by evicting the least recently used.
        _ = try await store.append(session: "c", blocks: testBlocks(d, stream: 3, positions: 0..<2))
        #expect(store.sessions().map(\.name) == ["b", "c"])
        #expect(store.verify().isOK)
        await store.close()
    }

    @Test("a full map gives .mapFull; acknowledged data stays intact and the store stays usable")
    func mapFull() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        let store = try openStore(dir) { $0.mapSize = 1 << 20 }
        _ = try await store.createSession(name: "victim", owner: 1, descriptor: d)
        _ = try await store.append(session: "victim", blocks: testBlocks(d, stream: 50, positions: 0..<2))
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        var acknowledged: [NewBlock] = []
        var ids: [BlockID] = []
        var failure: StoreError?
        for p in 0..<200 {
            let blocks = testBlocks(d, stream: 51, positions: p..<(p + 1))
            do {
                ids += try await store.append(session: "s", blocks: blocks)
                acknowledged += blocks
            } catch {
                failure = error
                break
            }
        }
        #expect(failure == .mapFull)
        print("mapFull after \(acknowledged.count) blocks; stats \(store.stats())")
        let acked = acknowledged.count / d.layers
        #expect(acked > 5)
        #expect(store.session(named: "s")?.blocksPerLayer == Array(repeating: acked, count: d.layers))
        #expect(try store.payloads(ids) == acknowledged.map { Array($0.payload) })
        for l in 0..<d.layers {
            #expect(try store.withRepresentativeKeys(session: "s", layer: l) { $0.count } == acked)
        }
        #expect(store.verify().isOK)

        // Freeing space makes the same append succeed.
        try await store.dropSession(named: "victim")
        let retry = testBlocks(d, stream: 51, positions: acked..<(acked + 1))
        ids += try await store.append(session: "s", blocks: retry)
        acknowledged += retry
        await store.close()

        let reopened = try openStore(dir) { $0.mapSize = 1 << 20 }
        #expect(try reopened.payloads(ids) == acknowledged.map { Array($0.payload) })
        #expect(reopened.verify().isOK)
        await reopened.close()
    }
}

/// Whether a small tmpfs can be mounted here (root with CAP_SYS_ADMIN), to fill a real file
/// system.
enum TmpfsProbe {
    static let available: Bool = {
        let dir = TempDirectory("probe")
        defer { dir.cleanup() }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path]) else { return false }
        _ = run("/bin/umount", [dir.path])
        return true
    }()

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}

@Suite("Full disk")
struct DiskFullTests {
    @Test("a full file system gives .diskFull; acknowledged data stays intact and the store recovers",
          .enabled(if: TmpfsProbe.available, "needs to mount a tmpfs (root with CAP_SYS_ADMIN)"))
    func diskFull() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        try #require(TmpfsProbe.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.path]))
        defer { TmpfsProbe.run("/bin/umount", [dir.path]) }
        let d = testDescriptor()
        var acknowledged: [NewBlock] = []
        var ids: [BlockID] = []
        do {
            // The map (64 MiB) is far larger than the file system (1 MiB).
            let store = try openStore(dir) { $0.mapSize = 64 << 20 }
            _ = try await store.createSession(name: "victim", owner: 1, descriptor: d)
            _ = try await store.append(session: "victim", blocks: testBlocks(d, stream: 60, positions: 0..<2))
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            var failure: StoreError?
            for p in 0..<200 {
                let blocks = testBlocks(d, stream: 61, positions: p..<(p + 1))
                do {
                    ids += try await store.append(session: "s", blocks: blocks)
                    acknowledged += blocks
                } catch {
                    failure = error
                    break
                }
            }
            #expect(failure == .diskFull)
            let acked = acknowledged.count / d.layers
            print("diskFull after \(acked) positions")
            #expect(store.session(named: "s")?.blocksPerLayer == Array(repeating: acked, count: d.layers))
            #expect(try store.payloads(ids) == acknowledged.map { Array($0.payload) })
            #expect(store.verify().isOK)
            // Freeing space lets writes proceed again.
            do { try await store.dropSession(named: "victim") } catch { print("drop failed: \(error)"); throw error }
            let more = testBlocks(d, stream: 61, positions: acked..<(acked + 1))
            ids += try await store.append(session: "s", blocks: more)
            acknowledged += more
            await store.close()
        }
        let reopened = try openStore(dir) { $0.mapSize = 64 << 20 }
        #expect(try reopened.payloads(ids) == acknowledged.map { Array($0.payload) })
        #expect(reopened.verify().isOK)
        await reopened.close()
    }
}

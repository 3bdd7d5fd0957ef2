import Testing
@testable import KVStore

@Suite("Checkpoints")
struct CheckpointTests {
    @Test("checkpoints are stored, replaced, survive reopen, are not copied by fork and go with the session")
    func checkpointLifecycle() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        var rng = TestRandom(seed: 4)
        let first = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.u64()) }
        let second = Array("resume here".utf8)
        do {
            let store = try openStore(dir)
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            #expect(try store.checkpoint(session: "s") == nil)
            try await store.putCheckpoint(session: "s", bytes: first)
            #expect(try store.checkpoint(session: "s") == first)
            #expect(store.session(named: "s")?.hasCheckpoint == true)
            try await store.putCheckpoint(session: "s", bytes: second)
            _ = try await store.forkSession(source: "s", into: "f", owner: 1, blocksPerLayer: 0)
            #expect(try store.checkpoint(session: "f") == nil)
            await store.close()
        }
        let store = try openStore(dir)
        #expect(try store.checkpoint(session: "s") == second)
        #expect(store.session(named: "s")?.hasCheckpoint == true)
        try await store.dropSession(named: "s")
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        #expect(try store.checkpoint(session: "s") == nil)
        await store.close()
    }
}

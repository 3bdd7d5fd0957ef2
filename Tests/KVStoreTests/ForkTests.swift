import Testing
@testable import KVStore

@Suite("Fork, sharing and reference counts")
struct ForkTests {
    @Test("fork shares blocks without copying payload bytes; dropping the source keeps the fork's blocks")
    func forkSharesBlocks() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        let blocksA = testBlocks(d, stream: 10, positions: 0..<4)
        let idsA = try await store.append(session: "a", blocks: blocksA)
        let before = store.stats()

        let fork = try await store.forkSession(source: "a", into: "b", owner: 2, blocksPerLayer: 2)
        #expect(fork.blocksPerLayer == [2, 2, 2])
        #expect(fork.owner == 2)
        #expect(fork.hasCheckpoint == false)
        let afterFork = store.stats()
        #expect(afterFork.blocks == before.blocks)
        #expect(afterFork.storedBytes == before.storedBytes)
        #expect(afterFork.rawBytes == before.rawBytes)
        let sharedIDs = zip(blocksA, idsA).filter { $0.0.position < 2 }.map(\.1)
        // The fork's record counts the stored bytes it references (each shared block's encoding).
        let sharedStored = blocksA.filter { $0.position < 2 }.map { PayloadCodec.encode($0.payload, level: 3).count }.reduce(0, +)
        #expect(fork.storedBytes == sharedStored)
        #expect(store.session(named: "a")?.storedBytes == before.storedBytes)

        for l in 0..<d.layers {
            let keysA = try store.withRepresentativeKeys(session: "a", layer: l) { Array($0.keys.prefix(2 * $0.dimension)) + [] }
            let idsOfA = try store.withRepresentativeKeys(session: "a", layer: l) { Array($0.ids.prefix(2)) }
            try store.withRepresentativeKeys(session: "b", layer: l) { rk in
                #expect(rk.count == 2)
                #expect(Array(rk.keys) == keysA)
                #expect(rk.ids == idsOfA)
            }
        }

        // The fork diverges: its own position 2 comes from another token stream.
        let blocksB = testBlocks(d, stream: 11, positions: 2..<3)
        let idsB = try await store.append(session: "b", blocks: blocksB)
        #expect(store.session(named: "a")?.blocksPerLayer == [4, 4, 4])
        #expect(store.session(named: "b")?.blocksPerLayer == [3, 3, 3])
        #expect(store.stats().blocks == before.blocks + blocksB.count)

        try await store.dropSession(named: "a")
        #expect(store.session(named: "a") == nil)
        let afterDrop = store.stats()
        // a's private blocks (positions 2, 3) are gone, the shared ones (0, 1) stay.
        #expect(afterDrop.blocks == sharedIDs.count + idsB.count)
        #expect(try store.payloads(sharedIDs) == blocksA.filter { $0.position < 2 }.map { Array($0.payload) })
        #expect(try store.payloads(idsB) == blocksB.map { Array($0.payload) })
        let privateA = zip(blocksA, idsA).filter { $0.0.position >= 2 }.map(\.1)
        #expect(throws: StoreError.blockNotFound) { try store.payloads([privateA[0]]) }
        #expect(store.verify().isOK)

        try await store.dropSession(named: "b")
        let empty = store.stats()
        #expect(empty.blocks == 0)
        #expect(empty.storedBytes == 0)
        #expect(empty.rawBytes == 0)
        #expect(throws: StoreError.blockNotFound) { try store.payloads([sharedIDs[0]]) }
        #expect(store.verify().isOK)
        await store.close()

        // Reference counts and totals survive a reopen.
        let reopened = try openStore(dir)
        #expect(reopened.stats().blocks == 0)
        #expect(reopened.sessions().isEmpty)
        await reopened.close()
    }

    @Test("two sessions over the same prefix store each payload once; the last reference frees it")
    func samePrefixShares() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        let blocks = testBlocks(d, stream: 20, positions: 0..<3)
        _ = try await store.createSession(name: "x", owner: 1, descriptor: d)
        _ = try await store.createSession(name: "y", owner: 1, descriptor: d)
        let idsX = try await store.append(session: "x", blocks: blocks)
        let one = store.stats()
        let idsY = try await store.append(session: "y", blocks: blocks)
        #expect(idsX == idsY)
        let two = store.stats()
        #expect(two.blocks == one.blocks)
        #expect(two.storedBytes == one.storedBytes)
        #expect(store.session(named: "y")?.storedBytes == store.session(named: "x")?.storedBytes)

        // Another model (fingerprint) over the same prefix does not share.
        var other = d
        other.fingerprint ^= 1
        _ = try await store.createSession(name: "z", owner: 1, descriptor: other)
        let idsZ = try await store.append(session: "z", blocks: blocks)
        #expect(Set(idsZ).isDisjoint(with: idsX))
        #expect(store.stats().blocks == 2 * one.blocks)

        try await store.dropSession(named: "x")
        #expect(try store.payloads(idsY) == blocks.map { Array($0.payload) })
        try await store.dropSession(named: "y")
        #expect(throws: StoreError.blockNotFound) { try store.payloads([idsY[0]]) }
        #expect(store.stats().blocks == one.blocks)
        #expect(store.verify().isOK)
        await store.close()
    }

    @Test("fork errors: unknown source, existing name, more blocks than the source holds")
    func forkErrors() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 1, positions: 0..<2))
        // Layer 0 gets one more block than the others: a fork can take at most 2 per layer.
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 1, positions: 2..<3, layers: [0]))
        await #expect(throws: StoreError.sessionNotFound) {
            _ = try await store.forkSession(source: "nope", into: "b", owner: 1, blocksPerLayer: 0)
        }
        await #expect(throws: StoreError.sessionExists) {
            _ = try await store.forkSession(source: "a", into: "a", owner: 1, blocksPerLayer: 0)
        }
        await #expect(throws: StoreError.badPosition(expected: 2, got: 3)) {
            _ = try await store.forkSession(source: "a", into: "b", owner: 1, blocksPerLayer: 3)
        }
        #expect(store.session(named: "b") == nil)
        let empty = try await store.forkSession(source: "a", into: "c", owner: 1, blocksPerLayer: 0)
        #expect(empty.blocksPerLayer == [0, 0, 0])
        #expect(store.verify().isOK)
        await store.close()
    }
}

@Suite("Fork key tables")
struct ForkKeyTableTests {
    @Test("a fork shares its source's key table until it appends; neither side sees the other's later rows")
    func copyOnAppend() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor(layers: 2)
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 70, positions: 0..<3))
        _ = try await store.forkSession(source: "a", into: "b", owner: 1, blocksPerLayer: 2)
        let shared = store.core.state.withLock { s in
            s.sessions["a"]!.layers[0].table === s.sessions["b"]!.layers[0].table
        }
        #expect(shared)
        // Both grow: a with stream 70, b (layer 0 only) with stream 71.
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 70, positions: 3..<5))
        _ = try await store.append(session: "b", blocks: testBlocks(d, stream: 71, positions: 2..<4, layers: [0]))
        let layer0Shared = store.core.state.withLock { s in
            s.sessions["a"]!.layers[0].table === s.sessions["b"]!.layers[0].table
        }
        #expect(!layer0Shared)
        func keys(_ name: String, _ layer: Int) throws -> [Float] {
            try store.withRepresentativeKeys(session: name, layer: layer) { Array($0.keys) }
        }
        let a0 = testBlocks(d, stream: 70, positions: 0..<5, layers: [0]).flatMap(\.representativeKey)
        let b0 = (testBlocks(d, stream: 70, positions: 0..<2, layers: [0]) + testBlocks(d, stream: 71, positions: 2..<4, layers: [0]))
            .flatMap(\.representativeKey)
        let b1 = testBlocks(d, stream: 70, positions: 0..<2, layers: [1]).flatMap(\.representativeKey)
        #expect(try keys("a", 0) == a0)
        #expect(try keys("b", 0) == b0)
        #expect(try keys("b", 1) == b1)
        try await store.dropSession(named: "a")
        #expect(try keys("b", 1) == b1)
        await store.close()
    }
}

import CoreTypes
import Foundation
import Testing
@testable import KVStore

@Suite("Appends submitted without waiting: FIFO commits, parallel encoding")
struct SubmittedAppendTests {
    @Test("appends of one layer submitted back to back commit in submission order; a failing one fails alone")
    func submissionOrder() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor(layers: 2)
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        // Five appends of 8 blocks of layer 1 (encoded on several cores), the third at a position
        // that does not follow: each is submitted before the previous one committed.
        let batches: [Range<Int>] = [0..<8, 8..<16, 40..<48, 16..<24, 24..<32]
        var pending: [PendingWrite] = []
        for positions in batches {
            let blocks = testBlocks(d, stream: 5, positions: positions, layers: [1])
            pending.append(store.submit(try await store.prepareAppend(session: "s", blocks: blocks)))
        }
        var committed: [BlockID] = []
        for (positions, write) in zip(batches, pending) {
            if positions.lowerBound == 40 {
                await #expect(throws: StoreError.badPosition(expected: 16, got: 40)) { try await write.appendedIDs() }
                continue
            }
            let ids = try await write.appendedIDs()
            #expect(ids == testBlocks(d, stream: 5, positions: positions, layers: [1]).map {
                BlockID.derive(namespace: 1, descriptor: d, layer: 1, prefixHash: $0.prefixHash)
            })
            committed += ids
        }
        #expect(store.session(named: "s")?.blocksPerLayer == [0, 32])
        let stored = try store.withRepresentativeKeys(session: "s", layer: 1) { $0.ids }
        #expect(stored == committed)
        let expected = testBlocks(d, stream: 5, positions: 0..<32, layers: [1])
        #expect(try store.payloads(stored) == expected.map { Array($0.payload) })
        #expect(store.verify().isOK)
        await store.close()
    }

    @Test("an append encoded on several cores stores exactly what one encoded alone stores", arguments: [1, 7, 8, 33])
    func parallelEncodingKeepsOrderAndBytes(count: Int) async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor(layers: 3)
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        let blocks = testBlocks(d, stream: 9, positions: 0..<count, layers: [2])
        let prepared = try await store.prepareAppend(session: "s", blocks: blocks)
        #expect(prepared.count == count && prepared.rawBytes == count * d.payloadBytes)
        // Block by block: layer, position, id and the encoded bytes equal a sequential encoding.
        for (block, encoded) in zip(blocks, prepared.blocks) {
            #expect(encoded.layer == block.layer && encoded.position == block.position)
            #expect(encoded.id == BlockID.derive(namespace: 1, descriptor: d, layer: block.layer, prefixHash: block.prefixHash))
            #expect(encoded.stored == PayloadCodec.encode(block.payload, level: store.configuration.compressionLevel))
        }
        let ids = try await store.submit(prepared).appendedIDs()
        #expect(try store.payloads(ids) == blocks.map { Array($0.payload) })
        await store.close()
    }

    @Test("a submitted append is refused with .closed once the store is closing, and an empty one completes at once")
    func closedAndEmpty() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor(layers: 1)
        _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
        let empty = store.submit(try await store.prepareAppend(session: "s", blocks: []))
        #expect(empty.isComplete)
        #expect(try await empty.appendedIDs() == [])
        let prepared = try await store.prepareAppend(session: "s", blocks: testBlocks(d, stream: 1, positions: 0..<2))
        await store.close()
        await #expect(throws: StoreError.closed) { try await store.submit(prepared).appendedIDs() }
    }
}

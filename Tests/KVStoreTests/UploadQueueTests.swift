import CoreTypes
import Testing
@testable import KVStore

/// The upload queue a shared tier writes behind from (docs/TIER.md "Writing behind").
@Suite("Upload queue")
struct UploadQueueTests {
    @Test("every newly stored block is queued once with its stored bytes; shared and retried blocks are not queued again")
    func newBlocksAreQueued() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir) { $0.tracksUploads = true }
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        let blocks = testBlocks(d, stream: 1, positions: 0..<4)
        let ids = try await store.append(session: "a", blocks: blocks)
        // An idempotent retry and a second session over the same prefix add no work.
        _ = try await store.append(session: "a", blocks: Array(blocks.prefix(3)))
        _ = try await store.createSession(name: "b", owner: 1, descriptor: d)
        #expect(try await store.append(session: "b", blocks: blocks) == ids)

        let stats = store.stats()
        #expect(stats.pendingUploads == 12 && stats.pendingUploads == stats.blocks)
        #expect(stats.pendingUploadBytes == stats.storedBytes)
        let queued = try store.pendingUploads(limit: 100, maxBytes: .max)
        #expect(queued.map(\.id) == ids.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })
        for upload in queued {
            // The stored bytes as kept: they decode to the block's payload.
            let block = blocks[ids.firstIndex(of: upload.id)!]
            #expect(try PayloadCodec.decode(upload.stored) == Array(block.payload))
        }
        #expect(queued.reduce(0) { $0 + $1.stored.count } == stats.storedBytes)
    }

    @Test("the queue pages by id and by bytes, and blocks leave it when marked uploaded, across a reopen")
    func pagingAndMarking() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        var all: [PendingUpload] = []
        do {
            let store = try openStore(dir) { $0.tracksUploads = true }
            _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
            _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 2, positions: 0..<5))
            all = try store.pendingUploads(limit: 100, maxBytes: .max)
            #expect(all.count == 15)

            // Pages of at most 4, then by bytes: at least one, stopping once maxBytes is reached.
            var paged: [PendingUpload] = []
            var after: BlockID? = nil
            while true {
                let page = try store.pendingUploads(after: after, limit: 4, maxBytes: .max)
                if page.isEmpty { break }
                #expect(page.count <= 4)
                paged += page
                after = page.last!.id
            }
            #expect(paged == all)
            #expect(try store.pendingUploads(limit: 100, maxBytes: 1).count == 1)
            let twoAndABit = all[0].stored.count + all[1].stored.count + 1
            #expect(try store.pendingUploads(limit: 100, maxBytes: twoAndABit).count == 3)

            try await store.markUploaded(all.prefix(6).map(\.id) + [all[0].id])
            #expect(store.stats().pendingUploads == 9)
            await store.close()
        }
        // The queue and its counts are on disk.
        let store = try openStore(dir) { $0.tracksUploads = true }
        #expect(try store.pendingUploads(limit: 100, maxBytes: .max) == Array(all.dropFirst(6)))
        #expect(store.stats().pendingUploads == 9)
        #expect(store.stats().pendingUploadBytes == all.dropFirst(6).reduce(0) { $0 + $1.stored.count })
        #expect(store.verify().failures.isEmpty)
        try await store.markUploaded(all.map(\.id))
        #expect(store.stats().pendingUploads == 0 && store.stats().pendingUploadBytes == 0)
        #expect(try store.pendingUploads(limit: 100, maxBytes: .max).isEmpty)
        await store.close()
    }

    @Test("a block dropped or evicted before its upload leaves the queue; a failed append queues nothing")
    func droppedBlocksLeaveTheQueue() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir) { $0.tracksUploads = true }
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        _ = try await store.createSession(name: "b", owner: 1, descriptor: d)
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 3, positions: 0..<2))
        _ = try await store.forkSession(source: "a", into: "fork", owner: 1, blocksPerLayer: 1)
        _ = try await store.append(session: "b", blocks: testBlocks(d, stream: 4, positions: 0..<2))
        #expect(store.stats().pendingUploads == 12)

        // A bad position in the middle of an append: nothing of it is stored or queued.
        var bad = testBlocks(d, stream: 5, positions: 2..<3)
        bad.append(testBlocks(d, stream: 5, positions: 7..<8)[0])
        await #expect(throws: StoreError.self) { _ = try await store.append(session: "b", blocks: bad) }
        #expect(store.stats().pendingUploads == 12)

        // Dropping "a" frees its second blocks (the fork keeps the first): those leave the queue.
        try await store.dropSession(named: "a")
        let remaining = try store.pendingUploads(limit: 100, maxBytes: .max)
        #expect(remaining.count == 9 && store.stats().pendingUploads == 9)
        #expect(store.stats().pendingUploadBytes == store.stats().storedBytes)
        #expect(Set(remaining.map(\.id)) == Set(try (0..<d.layers).flatMap { layer in
            try ["fork", "b"].flatMap { name in try store.withRepresentativeKeys(session: name, layer: layer) { $0.ids } }
        }))
        #expect(store.verify().failures.isEmpty)
        await store.close()
    }

    @Test("without tracksUploads nothing is queued")
    func offByDefault() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let store = try openStore(dir)
        let d = testDescriptor()
        _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
        _ = try await store.append(session: "a", blocks: testBlocks(d, stream: 6, positions: 0..<2))
        #expect(store.stats().pendingUploads == 0)
        #expect(try store.pendingUploads(limit: 10, maxBytes: .max).isEmpty)
        await store.close()
    }

    @Test("sessions to publish: marked by a checkpoint or explicitly, kept across a reopen, cleared only by their latest mark, dropped with the session")
    func publicationMarks() async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let d = testDescriptor()
        do {
            let store = try openStore(dir) { $0.tracksUploads = true }
            _ = try await store.createSession(name: "a", owner: 1, descriptor: d)
            _ = try await store.createSession(name: "b", owner: 1, descriptor: d)
            _ = try await store.createSession(name: "c", owner: 1, descriptor: d)
            #expect(try store.sessionsToPublish().isEmpty)
            try await store.putCheckpoint(session: "a", bytes: [1, 2, 3])
            try await store.markForPublication(session: "b")
            await #expect(throws: StoreError.sessionNotFound) { try await store.markForPublication(session: "nope") }
            let marked = try store.sessionsToPublish()
            #expect(marked.map(\.name) == ["a", "b"])

            // "a" is marked again while its first publication is in flight: that one's mark
            // does not clear it.
            try await store.putCheckpoint(session: "a", bytes: [4])
            try await store.markPublished(session: "a", mark: marked[0].mark)
            #expect(try store.sessionsToPublish().map(\.name) == ["a", "b"])
            try await store.markPublished(session: "a", mark: try store.sessionsToPublish()[0].mark)
            #expect(try store.sessionsToPublish().map(\.name) == ["b"])
            await store.close()
        }
        let store = try openStore(dir) { $0.tracksUploads = true }
        #expect(try store.sessionsToPublish().map(\.name) == ["b"])
        try await store.dropSession(named: "b")
        #expect(try store.sessionsToPublish().isEmpty)
        await store.close()
    }
}

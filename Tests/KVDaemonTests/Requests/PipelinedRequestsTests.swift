import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import KVStore
import Protocol
import Testing
@testable import KVDaemon

@Suite("Requests of one connection sent without waiting (appends pipelined)")
struct PipelinedRequestsTests {
    /// hello, create, then appends of layer 0 interleaved with dense retrieves and one append at
    /// a wrong position, all in one write.
    private static func requests() -> [Message] {
        func append(_ positions: Range<Int>) -> Message {
            .appendBlocks(AppendBlocks(session: "p", blocks: positions.map { Shapes.block(layer: 0, position: $0) }))
        }
        func dense(_ chunk: UInt64) -> Message {
            .retrieve(RetrieveRequest(
                session: "p", layer: 0, method: .dense, mode: .decode, chunkSequence: chunk,
                probe: Shapes.block(layer: 0, position: 0).representativeKey, heldIDs: [], wantPayloads: false))
        }
        return [
            .hello(Hello()), .createSession(CreateSession(name: "p", descriptor: Shapes.tiny)),
            append(0..<8), append(8..<16), dense(0), append(16..<24), append(40..<48), append(24..<32), dense(1),
            .fetchBlocks(FetchBlocks(session: "p", ids: [BlockID(high: 0, low: 0)])),
            append(32..<40), .statsRequest,
        ]
    }

    @Test("replies come in request order and each retrieve sees every earlier append", arguments: [1, 4, 64])
    func appendsInterleavedWithRetrieves(depth: Int) async throws {
        let daemon = try await InProcessDaemon { $0.appendPipelineDepth = depth }
        let socket = try RawSocket(path: daemon.socketPath)
        let requests = Self.requests()
        var bytes: [UInt8] = []
        for (index, request) in requests.enumerated() { bytes += try request.encodeFrame(requestID: UInt64(index + 1)) }
        socket.send(bytes)
        var replies: [(requestID: UInt64, message: Message)] = []
        for _ in requests.indices { replies.append(try #require(try await socket.receiveWithID())) }
        #expect(replies.map(\.requestID) == Array(1...UInt64(requests.count)))
        #expect(replies.map(\.message.type) == [
            .helloOK, .sessionInfo, .appended, .appended, .retrieved, .appended, .error, .appended, .retrieved, .error, .appended, .statsReply,
        ])
        // The retrieves see 16, then 32 blocks (the append at 40 failed alone).
        if case .retrieved(let first) = replies[4].message {
            #expect(first.totalBlocks == 16 && first.chosen.count == 16)
        }
        if case .retrieved(let second) = replies[8].message {
            #expect(second.totalBlocks == 32 && second.chosen.count == 32)
        }
        if case .error(let error) = replies[6].message { #expect(error.code == .badPosition, "\(error)") }
        if case .error(let error) = replies[9].message { #expect(error.code == .blockNotFound, "\(error)") }
        // Stats sees all 40 blocks: every append before it committed.
        if case .stats(let stats) = replies[11].message { #expect(stats.blocks == 40) }
        // The ids acknowledged are the blocks stored, in order.
        let client = try await daemon.connect()
        _ = try await client.openSession("p")
        let retrieved = try await client.retrieve(RetrieveRequest(
            session: "p", layer: 0, method: .dense, mode: .decode, chunkSequence: 2,
            probe: Shapes.block(layer: 0, position: 0).representativeKey, heldIDs: [], wantPayloads: false))
        let acknowledged = replies.compactMap { reply -> [BlockID]? in
            if case .appended(let appended) = reply.message { return appended.ids } else { return nil }
        }.flatMap { $0 }
        #expect(Set(retrieved.chosen.map(\.id)) == Set(acknowledged) && acknowledged.count == 40)
        client.close()
        try await daemon.stop()
    }

    @Test("a shutdown with pipelined appends in flight: the acknowledged ones are a prefix of the stream and all stored")
    func shutdownWithAppendsInFlight() async throws {
        let daemon = try await InProcessDaemon { $0.appendPipelineDepth = 4 }
        let client = try await daemon.connect()
        _ = try await client.createSession("q", descriptor: Shapes.tiny)
        let pending = (0..<16).map { batch in
            client.submitAppendBlocks(session: "q", blocks: (batch * 4..<(batch + 1) * 4).map { Shapes.block(layer: 1, position: $0) })
        }
        daemon.server.shutdown()
        // Every append either committed (its ids) or was refused/cut off: never a hang, and
        // the acknowledged ones form a prefix of the stream.
        var acknowledged = 0
        var ended = false
        for append in pending {
            do {
                let ids = try await append.value()
                #expect(!ended, "an append acknowledged after an earlier one failed")
                acknowledged += ids.count
            } catch {
                ended = true
            }
        }
        try await daemon.task.value
        client.close()
        // Reopen the store: every acknowledged block is there (in the session of this process's
        // uid, the client's), and the store verifies.
        let store = try KVStore(configuration: StoreConfiguration(directory: daemon.root + "/data"))
        let stored = store.session(named: SessionAddress(owner: getuid(), name: "q").storeName)?.blocksPerLayer[1] ?? 0
        #expect(stored >= acknowledged)
        #expect(store.verify().isOK)
        await store.close()
        try? FileManager.default.removeItem(atPath: daemon.root)
    }
}

import CoreTypes
import DaemonTestSupport
import KVClient
import Protocol
import Testing
@testable import KVDaemon

/// Cheap requests answered on the event loop (InlineRequestHandler): same answers, same order,
/// same accounting as the request loop.
@Suite(.serialized)
struct InlineRequestHandlerTests {
    @Test("a stats or retrieve pipelined right behind unanswered appends sees every one of them")
    func inlineAnswersWaitForRequestsAhead() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        var expected = 0
        for round in 0..<40 {
            // Appends go to the request loop (they write); the stats and the retrieve behind
            // them are inline types and must not overtake them.
            let count = 1 + round % 5
            let appends = (0..<3).map { layer in
                client.submitAppendBlocks(
                    session: "doc", blocks: (0..<count).map { Shapes.block(layer: layer, position: expected / 3 + $0, seed: UInt64(round)) })
            }
            expected += 3 * count
            let stats = try await client.stats()
            #expect(stats.blocks == UInt64(expected), "round \(round)")
            let retrieved = try await client.retrieve(RetrieveRequest(
                session: "doc", layer: 2, method: .infllm, mode: .prefill, chunkSequence: UInt64(round),
                probe: Shapes.block(layer: 2, position: 0).representativeKey, heldIDs: [], wantPayloads: false))
            #expect(retrieved.totalBlocks == UInt32(expected / 3), "round \(round)")
            for append in appends { _ = try await append.value() }
        }
        client.close()
        try await daemon.stop()
    }

    @Test("requests answered inline are counted and their errors typed, and the connection stays usable")
    func inlineRequestsAreCountedAndErrorsTyped() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        let before = try await client.stats()
        for i in 0..<25 {
            await #expect(throws: KVClientError.server(ProtocolError(.sessionNotFound, "no session \"absent-\(i)\""))) {
                try await client.openSession("absent-\(i)")
            }
        }
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        for _ in 0..<25 { _ = try await client.openSession("doc") }
        let after = try await client.stats()
        // 25 failed opens, 1 create, 25 opens, and the first stats itself.
        #expect(after.requests - before.requests == 52)
        #expect(after.errors - before.errors == 25)
        client.close()
        try await daemon.stop()
    }

    @Test("a retrieve answered inline (no payloads) and one through the request loop (payloads) choose the same blocks")
    func inlineAndLoopRetrievesAgree() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        _ = try await client.appendBlocks(session: "doc", blocks: (0..<64).map { Shapes.block(layer: 0, position: $0) })
        for probeAt in [3, 17, 40] {
            let probe = Shapes.block(layer: 0, position: probeAt, seed: 7).representativeKey
            func request(_ payloads: Bool) -> RetrieveRequest {
                RetrieveRequest(
                    session: "doc", layer: 0, method: .infllm, mode: .prefill, chunkSequence: 1, probe: probe, heldIDs: [],
                    wantPayloads: payloads)
            }
            let inline = try await client.retrieve(request(false))
            let loop = try await client.retrieve(request(true))
            #expect(inline.chosen.map(\.id) == loop.chosen.map(\.id))
            #expect(inline.chosen.count > 0 && inline.payloads.isEmpty && loop.payloads.count == loop.chosen.count)
        }
        client.close()
        try await daemon.stop()
    }
}

import CoreTypes
import DaemonTestSupport
import KVClient
import Protocol
import Testing
@testable import KVDaemon

/// Session semantics of the dispatcher, through a real client and an in-process daemon.
@Suite(.serialized)
struct RequestDispatcherTests {
    @Test func dropOfASessionHeldByAnotherConnectionIsBusy() async throws {
        let daemon = try await InProcessDaemon()
        let a = try await daemon.connect(), b = try await daemon.connect()
        _ = try await a.createSession("doc", descriptor: Shapes.tiny)
        _ = try await b.openSession("doc")
        await #expect(throws: KVClientError.server(ProtocolError(.sessionBusy, "session \"doc\" is held open by another connection"))) {
            try await a.dropSession("doc")
        }
        try await b.closeSession("doc")
        try await a.dropSession("doc")
        await expectServerError(.sessionNotFound) { _ = try await b.openSession("doc") }
        a.close(); b.close()
        try await daemon.stop()
    }

    @Test func listIsPagedInNameOrder() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        for name in ["c", "a", "e", "b", "d"] { _ = try await client.createSession(name, descriptor: Shapes.tiny) }
        let first = try await client.listSessions(after: "", limit: 2)
        #expect(first.sessions.map(\.name) == ["a", "b"])
        #expect(first.hasMore)
        let rest = try await client.listSessions(after: "b", limit: 10)
        #expect(rest.sessions.map(\.name) == ["c", "d", "e"])
        #expect(!rest.hasMore)
        await expectServerError(.limitExceeded) { _ = try await client.listSessions(after: "", limit: 5000) }
        client.close()
        try await daemon.stop()
    }

    @Test func forkSharesBlocksAndCopiesTheCheckpoint() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("src", descriptor: Shapes.tiny)
        for layer in 0..<3 {
            _ = try await client.appendBlocks(session: "src", blocks: (0..<(4 + layer)).map { Shapes.block(layer: layer, position: $0) })
        }
        try await client.putCheckpoint(session: "src", chunkSequence: 9, tokenCount: 16, workerState: [1, 2, 3][...])
        let fork = try await client.forkSession(from: "src", to: "dst", copyCheckpoint: true)
        #expect(fork.blockCounts == [4, 4, 4], "all = the shortest layer")
        #expect(fork.checkpointSequence == 9)
        let checkpoint = try await client.getCheckpoint(session: "dst", restore: true)
        #expect(Array(checkpoint.workerState) == [1, 2, 3])
        let partial = try await client.forkSession(from: "src", to: "part", blockCount: 2)
        #expect(partial.blockCounts == [2, 2, 2])
        await expectServerError(.badArgument) {
            _ = try await client.forkSession(from: "src", to: "bad", blockCount: 2, copyCheckpoint: true)
        }
        let id = try await idOf(client, "src", layer: 1, position: 3)
        let fetched = try await client.fetchBlocks(session: "dst", ids: [id])
        #expect(Array(fetched[0].record.payload) == Array(Shapes.block(layer: 1, position: 3).payload))
        #expect(fetched[0].record.representativeKey == Shapes.block(layer: 1, position: 3).representativeKey)
        #expect(fetched[0].record.layer == 1 && fetched[0].record.position == 3)
        #expect(fetched[0].record.prefixHash == Shapes.block(layer: 1, position: 3).prefixHash, "the prefix hash it was appended with")
        client.close()
        try await daemon.stop()
    }

    private func idOf(_ client: KVClient, _ session: String, layer: Int, position: Int) async throws -> BlockID {
        let result = try await client.retrieve(RetrieveRequest(
            session: session, layer: UInt16(layer), method: .dense, mode: .decode, chunkSequence: 0,
            probe: [Float](repeating: 0, count: Shapes.tiny.vectorDimension), wantPayloads: false))
        return result.chosen.first { $0.position == UInt32(position) }!.id
    }

    @Test func fetchRefusesBlocksOfOtherSessions() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("one", descriptor: Shapes.tiny)
        _ = try await client.createSession("two", descriptor: Shapes.tiny)
        let ids = try await client.appendBlocks(session: "one", blocks: [Shapes.block(layer: 0, position: 0)])
        // The block exists and its own session serves it …
        #expect(try await client.fetchBlocks(session: "one", ids: ids).map(\.id) == ids)
        // … but through another session it does not exist: blockNotFound naming that session,
        // as a server reply (not a lost connection or a client-side refusal).
        let error = await #expect(throws: KVClientError.self) { try await client.fetchBlocks(session: "two", ids: ids) }
        if case .server(let reply)? = error {
            #expect(reply.code == .blockNotFound, "\(reply)")
            #expect(reply.message.hasSuffix("is not in session \"two\""), "\(reply)")
        } else {
            Issue.record("expected a server error reply, got \(String(describing: error))")
        }
        client.close()
        try await daemon.stop()
    }
}

/// Expects `body` to end with the server's error reply of `code` (not a success, a lost
/// connection or a request the client refused to send).
func expectServerError(_ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("succeeded; expected the server error \(code)", sourceLocation: sourceLocation)
    } catch KVClientError.server(let error) {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected the server error \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// ActQKV retrieval state is the session's, not the connection's, and checkpoints restore it.
struct RetrievalStateSharingTests {
    func retrieveAllLayers(_ client: KVClient, chunk: UInt64, mode: RetrievalMode) async throws -> [[UInt32]] {
        var chosen: [[UInt32]] = []
        for layer in 0..<3 {
            let result = try await client.retrieve(RetrieveRequest(
                session: "doc", layer: UInt16(layer), method: .actqkv, mode: mode, chunkSequence: chunk,
                probe: Shapes.block(layer: layer, position: Int(chunk) % 7, seed: 3).representativeKey, wantPayloads: false))
            chosen.append(result.chosen.map(\.position))
        }
        return chosen
    }

    @Test func anotherConnectionContinuesFromTheRestoredCheckpoint() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 16 }
        let a = try await daemon.connect(), b = try await daemon.connect()
        _ = try await a.createSession("doc", descriptor: Shapes.tiny)
        for layer in 0..<3 {
            _ = try await a.appendBlocks(session: "doc", blocks: (0..<40).map { Shapes.block(layer: layer, position: $0, seed: UInt64(layer + 1)) })
        }
        for chunk in 0..<3 { _ = try await retrieveAllLayers(a, chunk: UInt64(chunk), mode: .prefill) }
        try await a.putCheckpoint(session: "doc", chunkSequence: 3, tokenCount: 96, workerState: [7][...])
        let afterCheckpoint = try await retrieveAllLayers(a, chunk: 3, mode: .decode)
        for chunk in 4..<9 { _ = try await retrieveAllLayers(a, chunk: UInt64(chunk), mode: .decode) }

        let checkpoint = try await b.getCheckpoint(session: "doc", restore: true)
        #expect(!checkpoint.retrievalState.isEmpty, "the checkpoint carries the daemon's retrieval state")
        #expect(try await retrieveAllLayers(b, chunk: 3, mode: .decode) == afterCheckpoint)
        a.close(); b.close()
        try await daemon.stop()
    }
}

/// Non-finite floats are refused before they reach the store or the retrieval state.
@Suite(.serialized)
struct NonFiniteInputTests {
    @Test("a NaN or infinite key, probe or question is badArgument; nothing is stored and the session keeps working")
    func nonFiniteFloatsAreRefused() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        _ = try await client.createSession("doc", descriptor: Shapes.tiny)
        var bad = Shapes.block(layer: 0, position: 0)
        bad.representativeKey[3] = .nan
        await expectServerError(.badArgument) {
            _ = try await client.appendBlocks(session: "doc", blocks: [Shapes.block(layer: 1, position: 0), bad])
        }
        #expect(try await client.stats().blocks == 0, "the request is atomic")
        _ = try await client.appendBlocks(session: "doc", blocks: (0..<8).map { Shapes.block(layer: 0, position: $0) })
        func retrieve(probe: [Float], question: QuestionTerm?) async throws -> RetrieveResult {
            try await client.retrieve(RetrieveRequest(
                session: "doc", layer: 0, method: .actqkv, mode: .prefill, chunkSequence: 1, probe: probe,
                question: question, heldIDs: [], wantPayloads: false))
        }
        let good = Shapes.block(layer: 0, position: 2, seed: 5).representativeKey
        var infinite = good
        infinite[0] = .infinity
        for (probe, question) in [(infinite, nil), (good, QuestionTerm(vector: good, weight: .nan)), (good, QuestionTerm(vector: infinite, weight: 4))] {
            do {
                _ = try await retrieve(probe: probe, question: question)
                Issue.record("a non-finite retrieve was answered")
            } catch let error as KVClientError {
                #expect(error.code == .badArgument, "\(error)")
            }
        }
        let answer = try await retrieve(probe: good, question: QuestionTerm(vector: good, weight: 4))
        #expect(answer.entropy.isFinite && !answer.chosen.isEmpty)
        client.close()
        try await daemon.stop()
    }
}

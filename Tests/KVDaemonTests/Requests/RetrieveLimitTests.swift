import CoreTypes
import DaemonTestSupport
import KVClient
import Protocol
import Testing
@testable import KVDaemon

/// A retrieve whose reply would list more chosen blocks than `maxBlocksPerRequest` is refused
/// with `limitExceeded` (docs/PROTOCOL.md §6.3) instead of an oversized reply the client would
/// reject as a protocol violation.
struct RetrieveLimitTests {
    func request(_ method: RetrievalMethod, layer: Int) -> RetrieveRequest {
        RetrieveRequest(
            session: "wide", layer: UInt16(layer), method: method, mode: .decode, chunkSequence: 1,
            probe: Shapes.block(layer: layer, position: 0, seed: 5).representativeKey, wantPayloads: true)
    }

    @Test func denseOverTheBlockLimitIsLimitExceededAndTheConnectionStaysUsable() async throws {
        let daemon = try await InProcessDaemon { $0.maximumBlocksPerRequest = 8 }
        let client = try await daemon.connect()
        #expect(client.server.maxBlocksPerRequest == 8)
        _ = try await client.createSession("wide", descriptor: Shapes.tiny)
        // Layer 0: 9 blocks (two appends, each within the limit); layer 1: exactly 8.
        _ = try await client.appendBlocks(session: "wide", blocks: (0..<8).map { Shapes.block(layer: 0, position: $0) })
        _ = try await client.appendBlocks(session: "wide", blocks: [Shapes.block(layer: 0, position: 8)])
        _ = try await client.appendBlocks(session: "wide", blocks: (0..<8).map { Shapes.block(layer: 1, position: $0) })

        do {
            _ = try await client.retrieve(request(.dense, layer: 0))
            Issue.record("dense retrieve of 9 blocks with a limit of 8 succeeded")
        } catch {
            #expect(error.code == .limitExceeded, "\(error)")
            #expect(!error.isConnectionLoss)
        }
        // infllm with K = 46 would choose all 9 as well.
        do {
            _ = try await client.retrieve(request(.infllm, layer: 0))
            Issue.record("infllm retrieve choosing 9 blocks with a limit of 8 succeeded")
        } catch {
            #expect(error.code == .limitExceeded, "\(error)")
        }
        // At the limit it works, with every payload, on the same connection.
        let full = try await client.retrieve(request(.dense, layer: 1))
        #expect(full.chosen.map(\.position) == Array(0..<8))
        #expect(full.payloads.count == 8)
        #expect(full.payloads.map { Array($0.payload) } == (0..<8).map { Array(Shapes.block(layer: 1, position: $0).payload) })
        client.close()
        try await daemon.stop()
    }
}

import CoreTypes
import DaemonTestSupport
import Testing
import KVClient
import Protocol

/// Many requests in flight on one connection (Connection.swift's I/O thread and id matching).
@Suite("Pipelining against a real kvd")
struct PipeliningTests {
    @Test("hundreds of concurrent mixed requests on one connection are each answered with their own reply")
    func concurrentMixedRequests() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("doc", descriptor: testDescriptor)

        // Appends of all layers concurrently (each layer's blocks in order within its task).
        let perLayer: UInt32 = 12
        let appended = try await withThrowingTaskGroup(of: (UInt16, [BlockRecord], [BlockID]).self) { group in
            for layer in 0..<UInt16(testDescriptor.layers) {
                group.addTask {
                    let blocks = makeBlocks(layer: layer, positions: 0..<perLayer, seed: 1)
                    var ids: [BlockID] = []
                    for half in [0..<6, 6..<12] {
                        ids += try await client.appendBlocks(session: "doc", blocks: Array(blocks[half]))
                    }
                    return (layer, blocks, ids)
                }
            }
            var result: [UInt16: ([BlockRecord], [BlockID])] = [:]
            for try await (layer, blocks, ids) in group { result[layer] = (blocks, ids) }
            return result
        }
        var payloadByID: [BlockID: ArraySlice<UInt8>] = [:]
        var keyByID: [BlockID: [Float]] = [:]
        for (_, (blocks, ids)) in appended {
            #expect(ids.count == blocks.count)
            for (id, b) in zip(ids, blocks) {
                payloadByID[id] = b.payload
                keyByID[id] = b.representativeKey
            }
        }
        #expect(payloadByID.count == testDescriptor.layers * Int(perLayer))

        // 300 concurrent requests of four kinds; every answer must belong to its request.
        enum Outcome: Sendable {
            case fetched(requested: [BlockID], got: [StoredBlock])
            case retrieved(layer: UInt16, held: Set<BlockID>, result: RetrieveResult)
            case missing(KVClientError)
            case stats(Stats)
        }
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for i in 0..<300 {
                let layer = UInt16(i % testDescriptor.layers)
                let (_, ids) = appended[layer]!
                switch i % 4 {
                case 0:
                    let wanted = [ids[i % ids.count], ids[(i * 7 + 3) % ids.count]]
                    group.addTask { .fetched(requested: wanted, got: try await client.fetchBlocks(session: "doc", ids: wanted)) }
                case 1:
                    let held = Set(ids.prefix(i % 5))
                    let request = RetrieveRequest(
                        session: "doc", layer: layer, method: .dense, mode: .prefill, chunkSequence: UInt64(i),
                        probe: keyByID[ids[0]]!, heldIDs: Array(held), wantPayloads: true)
                    group.addTask { .retrieved(layer: layer, held: held, result: try await client.retrieve(request)) }
                case 2:
                    group.addTask {
                        do throws(KVClientError) {
                            _ = try await client.openSession("absent-\(i)")
                            return .missing(.cancelled)
                        } catch {
                            return .missing(error)
                        }
                    }
                default:
                    group.addTask { .stats(try await client.stats()) }
                }
            }
            var all: [Outcome] = []
            for try await o in group { all.append(o) }
            return all
        }
        #expect(outcomes.count == 300)
        for outcome in outcomes {
            switch outcome {
            case .fetched(let requested, let got):
                #expect(got.map(\.id) == requested)
                for block in got {
                    #expect(block.record.payload == payloadByID[block.id])
                    #expect(block.record.representativeKey == keyByID[block.id])
                }
            case .retrieved(let layer, let held, let result):
                let ids = appended[layer]!.1
                #expect(result.totalBlocks == perLayer)
                #expect(Set(result.chosen.map(\.id)) == Set(ids))
                let sent = result.payloads.map { result.chosen[Int($0.index)].id }
                #expect(Set(sent) == Set(ids).subtracting(held))
                for p in result.payloads {
                    #expect(p.payload == payloadByID[result.chosen[Int(p.index)].id])
                }
            case .missing(let error):
                #expect(error.code == .sessionNotFound, "\(error)")
            case .stats(let stats):
                #expect(stats.sessions >= 1)
            }
        }
        // Everything went over one connection.
        #expect(try await client.stats().connections == 1)
        client.close()
        try await daemon.stop()
    }

    @Test("retrieve returns the inner-product top-K of a Float64 reference, best first")
    func retrieveMatchesReference() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 40 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("ref", descriptor: testDescriptor)
        let blocks = makeBlocks(layer: 2, positions: 0..<40, seed: 9)
        let ids = try await client.appendBlocks(session: "ref", blocks: blocks)
        let probe = makeBlocks(layer: 3, positions: 0..<1, seed: 77)[0].representativeKey
        let scores = blocks.map { b in zip(b.representativeKey, probe).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        let expected = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(5).map { ids[$0] }

        let result = try await client.retrieve(RetrieveRequest(
            session: "ref", layer: 2, method: .infllm, mode: .decode, chunkSequence: 1, probe: probe,
            heldIDs: [expected[1]], wantPayloads: true))
        #expect(result.k == 5)
        #expect(result.totalBlocks == 40)
        #expect(result.chosen.map(\.id) == expected)
        #expect(result.chosen.map { Int($0.position) } == expected.map { ids.firstIndex(of: $0)! })
        #expect(result.payloads.map(\.index) == [0, 2, 3, 4])
        for p in result.payloads {
            #expect(p.payload == blocks[Int(result.chosen[Int(p.index)].position)].payload)
        }
        let withoutPayloads = try await client.retrieve(RetrieveRequest(
            session: "ref", layer: 2, method: .infllm, mode: .decode, chunkSequence: 2, probe: probe, wantPayloads: false))
        #expect(withoutPayloads.chosen == result.chosen)
        #expect(withoutPayloads.payloads.isEmpty)
        client.close()
        try await daemon.stop()
    }

    @Test("worker flow: appends submitted without waiting are seen by the next retrieve on the connection")
    func submittedAppendsOrderBeforeRetrieve() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32; $0.maximumBlocksPerRequest = 64 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("w", descriptor: testDescriptor)
        var pendings: [PendingReply<[BlockID]>] = []
        var expectedTotal: UInt32 = 0
        for chunk in 0..<10 {
            // Close 3 blocks per layer for this chunk, append all layers in one request, do not wait.
            var blocks: [BlockRecord] = []
            for layer in 0..<UInt16(testDescriptor.layers) {
                blocks += makeBlocks(layer: layer, positions: expectedTotal..<(expectedTotal + 3), seed: 40)
            }
            pendings.append(client.submitAppendBlocks(session: "w", blocks: blocks))
            expectedTotal += 3
            // The next chunk's retrieve, per layer, written after the append.
            for layer in 0..<UInt16(testDescriptor.layers) {
                let result = try await client.retrieve(RetrieveRequest(
                    session: "w", layer: layer, method: .dense, mode: .prefill, chunkSequence: UInt64(chunk),
                    probe: blocks[0].representativeKey, wantPayloads: false))
                #expect(result.totalBlocks == expectedTotal, "chunk \(chunk) layer \(layer)")
            }
        }
        var all: [BlockID] = []
        for p in pendings { all += try await p.value() }
        #expect(Set(all).count == 10 * 3 * testDescriptor.layers)

        // A submission the server cannot accept fails through its handle, nothing is sent.
        let tooMany = client.submitAppendBlocks(session: "w", blocks: makeBlocks(layer: 0, positions: 30..<95, seed: 40))
        do throws(KVClientError) {
            _ = try await tooMany.value()
            Issue.record("65 blocks accepted by a server limited to 64")
        } catch {
            #expect(error.code == .limitExceeded)
        }
        // A server error comes back through the handle too, and the connection stays usable.
        let gap = client.submitAppendBlocks(session: "w", blocks: makeBlocks(layer: 0, positions: 99..<100, seed: 40))
        do throws(KVClientError) {
            _ = try await gap.value()
            Issue.record("gap accepted")
        } catch {
            #expect(error.code == .badPosition)
        }
        #expect(try await client.openSession("w").blockCounts == [30, 30, 30, 30])
        client.close()
        try await daemon.stop()
    }
}

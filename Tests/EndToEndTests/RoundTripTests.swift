import Protocol
import Testing

/// Blocks and checkpoints written through a real kvd come back bit-exact, also after the daemon
/// restarts.
extension EndToEnd {
@Suite struct RoundTripTests {
    @Test func blocksAndCheckpointAreBitExactAcrossRestart() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.smolLM2
        let layers = [0, 7, 29]
        let blocksPerLayer = 12
        var written: [Int: [BlockRecord]] = [:]
        do {
            let client = try TestClient(socketPath: daemon.socketPath)
            defer { client.close() }
            try client.createSession("doc", shape)
            for layer in layers {
                let blocks = (0..<blocksPerLayer).map { ModelShapes.block(shape, layer: layer, position: $0, seed: 42) }
                // Two appends per layer, so positions continue across requests.
                try client.append("doc", Array(blocks[..<5]))
                try client.append("doc", Array(blocks[5...]))
                written[layer] = blocks
            }
            let worker: [UInt8] = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
            _ = try client.call(.putCheckpoint(PutCheckpoint(session: "doc", chunkSequence: 17, tokenCount: 12 * 32, workerState: worker[...])))
            try check(client, written: written, dimension: shape.vectorDimension, worker: worker)
        }
        #expect(try daemon.stop() == 0)
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let info = try client.openSession("doc")
        #expect(info.blockCounts.count == 30)
        #expect(info.blockCounts[7] == UInt32(blocksPerLayer))
        #expect(info.blockCounts[1] == 0)
        #expect(info.checkpointSequence == 17)
        let worker: [UInt8] = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        try check(client, written: written, dimension: shape.vectorDimension, worker: worker)
    }

    private func check(_ client: TestClient, written: [Int: [BlockRecord]], dimension: Int, worker: [UInt8]) throws {
        for (layer, blocks) in written {
            let stored = try client.allBlocks("doc", layer: layer, dimension: dimension)
            #expect(stored.count == blocks.count)
            for (block, back) in zip(blocks, stored) {
                #expect(back.position == block.position)
                #expect(back.payload == Array(block.payload), "layer \(layer) block \(block.position) payload differs")
            }
        }
        guard case .checkpoint(let checkpoint) = try client.call(.getCheckpoint(GetCheckpoint(session: "doc"))) else {
            Issue.record("no checkpoint reply")
            return
        }
        #expect(checkpoint.chunkSequence == 17)
        #expect(checkpoint.tokenCount == 384)
        #expect(Array(checkpoint.workerState) == worker)
    }

    @Test func retrieveReturnsTheBestScoringBlocksFirst() throws {
        let daemon = try DaemonProcess(extraArguments: ["--retrieval-tokens", "24"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.tiny
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        try client.createSession("s", shape)
        let blocks = (0..<10).map { ModelShapes.block(shape, layer: 1, position: $0, seed: 5) }
        let ids = try client.append("s", blocks)
        // The probe equals block 6's key: its inner product with itself is the largest.
        let probe = blocks[6].representativeKey
        let result = try client.retrieve(RetrieveRequest(
            session: "s", layer: 1, method: .infllm, mode: .decode, chunkSequence: 0, probe: probe,
            heldIDs: [ids[6]], wantPayloads: true))
        #expect(result.totalBlocks == 10)
        #expect(result.chosen.count == 3)
        let scores = blocks.map { b in zip(b.representativeKey, probe).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        let expected = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(3)
        #expect(result.chosen.map { Int($0.position) } == Array(expected))
        // The held block's payload is not sent again; the others are, bit-exact.
        #expect(expected.contains(6), "a key scores highest against itself here")
        #expect(result.payloads.count == (expected.contains(6) ? 2 : 3))
        for payload in result.payloads {
            let position = Int(result.chosen[Int(payload.index)].position)
            #expect(position != 6)
            #expect(Array(payload.payload) == Array(blocks[position].payload))
        }
    }
}
}

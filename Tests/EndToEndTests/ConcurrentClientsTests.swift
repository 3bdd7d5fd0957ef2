import Foundation
import Protocol
import Testing

/// 32 clients at once appending to and retrieving from distinct and shared sessions.
extension EndToEnd {
@Suite struct ConcurrentClientsTests {
    @Test func thirtyTwoClientsAppendAndRetrieveWithoutErrors() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.tiny
        let clients = 32
        let rounds = 20
        // Shared sessions: layer ℓ of "shared-j" is written by exactly one client (j, ℓ), so
        // positions stay sequential while two clients write the same session concurrently.
        let setup = try TestClient(socketPath: daemon.socketPath)
        for j in 0..<(clients / 4) { try setup.createSession("shared-\(j)", shape) }
        setup.close()

        let errors = Locked([String]())
        let completed = Locked(0)
        let group = DispatchGroup()
        for index in 0..<clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try TestClient(socketPath: daemon.socketPath)
                    defer { client.close() }
                    let own = "own-\(index)"
                    try client.createSession(own, shape)
                    let shared = index % 4 < 2 ? "shared-\(index / 4)" : nil
                    let sharedLayer = index % 4
                    if let shared { try client.openSession(shared) }
                    for round in 0..<rounds {
                        let mine = (0..<2).map { ModelShapes.block(shape, layer: $0, position: round, seed: UInt64(index)) }
                        try client.append(own, mine)
                        if let shared {
                            try client.append(shared, [ModelShapes.block(shape, layer: sharedLayer, position: round, seed: 1000 + UInt64(index))])
                        }
                        let result = try client.retrieve(RetrieveRequest(
                            session: own, layer: 1, method: .infllm, mode: .decode, chunkSequence: UInt64(round),
                            probe: mine[1].representativeKey, wantPayloads: true))
                        guard result.totalBlocks == UInt32(round + 1), result.chosen.count == min(round + 1, 46) else {
                            throw HarnessError("client \(index) round \(round): \(result.totalBlocks) blocks, \(result.chosen.count) chosen")
                        }
                    }
                    // Every round's block of every layer is stored, in order, with its payload
                    // (an empty or short answer is a failure, not a pass).
                    for layer in 0..<shape.layers {
                        let stored = try client.allBlocks(own, layer: layer, dimension: shape.vectorDimension)
                        guard stored.map(\.position) == (0..<UInt32(rounds)).map({ $0 }) else {
                            throw HarnessError("client \(index) layer \(layer): positions \(stored.map(\.position)), expected 0..<\(rounds)")
                        }
                        for (position, block) in stored.enumerated() {
                            let expected = ModelShapes.block(shape, layer: layer, position: position, seed: UInt64(index))
                            guard block.payload == Array(expected.payload) else {
                                throw HarnessError("client \(index) layer \(layer): block \(position) differs")
                            }
                        }
                    }
                    completed.withLock { $0 += 1 }
                } catch {
                    errors.withLock { $0.append("client \(index): \(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        #expect(errors.current.isEmpty, "\(errors.current)")
        #expect(completed.current == clients, "clients that checked every block they wrote")
        let check = try TestClient(socketPath: daemon.socketPath)
        defer { check.close() }
        #expect(shape.layers == 2, "shared sessions are written on layers 0 and 1")
        for j in 0..<(clients / 4) {
            #expect(try check.openSession("shared-\(j)").blockCounts == [UInt32(rounds), UInt32(rounds)])
            // Each layer holds its one writer's blocks, in order.
            for layer in 0..<2 {
                let writer = 4 * j + layer
                let stored = try check.allBlocks("shared-\(j)", layer: layer, dimension: shape.vectorDimension)
                #expect(stored.map(\.position) == (0..<UInt32(rounds)).map { $0 }, "shared-\(j) layer \(layer)")
                #expect(stored.enumerated().allSatisfy { position, block in
                    block.payload == Array(ModelShapes.block(shape, layer: layer, position: position, seed: 1000 + UInt64(writer)).payload)
                }, "shared-\(j) layer \(layer) holds client \(writer)'s payloads")
            }
        }
        guard case .stats(let stats) = try check.call(.statsRequest) else {
            Issue.record("no stats reply")
            return
        }
        // own: clients × layers × rounds; shared: clients/4 sessions × 2 layers × rounds.
        let ownBlocks = clients * shape.layers * rounds
        let sharedBlocks = (clients / 4) * 2 * rounds
        #expect(stats.blocks == UInt64(ownBlocks + sharedBlocks))
    }
}
}

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
                    let stored = try client.allBlocks(own, layer: 0, dimension: shape.vectorDimension)
                    for (position, block) in stored.enumerated() {
                        let expected = ModelShapes.block(shape, layer: 0, position: position, seed: UInt64(index))
                        guard block.payload == Array(expected.payload) else {
                            throw HarnessError("client \(index): block \(position) differs")
                        }
                    }
                } catch {
                    errors.withLock { $0.append("client \(index): \(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        #expect(errors.current.isEmpty, "\(errors.current)")
        let check = try TestClient(socketPath: daemon.socketPath)
        defer { check.close() }
        for j in 0..<(clients / 4) {
            #expect(try check.openSession("shared-\(j)").blockCounts == [UInt32(rounds), UInt32(rounds)])
        }
    }
}
}

import CoreTypes
import DaemonTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif
import KVClient
import Protocol

/// Typed session, checkpoint and error calls (KVClient+Sessions.swift, KVClient+Checkpoints.swift).
@Suite("Typed calls")
struct SessionCallsTests {
    @Test("create, list, fork, checkpoint, drop; server errors carry their codes and leave the connection usable")
    func sessionLifeCycle() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32; $0.maximumBlocksPerRequest = 16 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        #expect(client.server.version == 1)
        #expect(client.server.maxBlocksPerRequest == 16)
        #expect(client.server.peerUID == getuid())

        let created = try await client.createSession("a", descriptor: testDescriptor)
        #expect(created.name == "a")
        #expect(created.blockCounts == [0, 0, 0, 0])
        #expect(created.ownerUID == getuid())
        do throws(KVClientError) {
            _ = try await client.createSession("a", descriptor: testDescriptor)
            Issue.record("duplicate created")
        } catch {
            #expect(error.code == .sessionExists)
        }

        for layer in 0..<UInt16(testDescriptor.layers) {
            _ = try await client.appendBlocks(session: "a", blocks: makeBlocks(layer: layer, positions: 0..<UInt32(3 + layer), seed: 8))
        }
        // Wrong dimensions, bad position, too many blocks for the server: typed, nothing breaks.
        var wrong = makeBlocks(layer: 0, positions: 3..<4, seed: 8)
        wrong[0].representativeKey.removeLast()
        do throws(KVClientError) {
            _ = try await client.appendBlocks(session: "a", blocks: wrong)
            Issue.record("wrong dimensions accepted")
        } catch {
            #expect(error.code == .wrongDimensions)
        }
        do throws(KVClientError) {
            _ = try await client.appendBlocks(session: "a", blocks: makeBlocks(layer: 0, positions: 7..<8, seed: 8))
            Issue.record("gap in positions accepted")
        } catch {
            #expect(error.code == .badPosition)
        }
        do throws(KVClientError) {
            _ = try await client.appendBlocks(session: "a", blocks: makeBlocks(layer: 0, positions: 3..<20, seed: 8))
            Issue.record("17 blocks sent to a server accepting 16")
        } catch {
            guard case .invalidRequest(let e) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(e.code == .limitExceeded)
        }

        let forked = try await client.forkSession(from: "a", to: "b", blockCount: 2)
        #expect(forked.blockCounts == [2, 2, 2, 2])
        for i in 0..<5 { _ = try await client.createSession("z\(i)", descriptor: testDescriptor) }
        let page = try await client.listSessions(limit: 3)
        #expect(page.sessions.map(\.name) == ["a", "b", "z0"])
        #expect(page.hasMore)
        let all = try await client.allSessions()
        #expect(all.map(\.name) == ["a", "b", "z0", "z1", "z2", "z3", "z4"])
        #expect(all.first?.blockCounts == [3, 4, 5, 6])

        let state = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try await client.putCheckpoint(session: "a", chunkSequence: 12, tokenCount: 4096, workerState: state[...])
        let checkpoint = try await client.getCheckpoint(session: "a", restore: true)
        #expect(checkpoint.chunkSequence == 12)
        #expect(checkpoint.tokenCount == 4096)
        #expect(Array(checkpoint.workerState) == state)
        do throws(KVClientError) {
            _ = try await client.getCheckpoint(session: "b")
            Issue.record("checkpoint of b")
        } catch {
            #expect(error.code == .checkpointNotFound)
        }

        try await client.closeSession("b")
        try await client.dropSession("b")
        do throws(KVClientError) {
            _ = try await client.openSession("b")
            Issue.record("dropped session opened")
        } catch {
            #expect(error == .server(ProtocolError(.sessionNotFound, (error.serverMessage ?? ""))))
        }
        #expect(client.heldSessionNames == ["a", "z0", "z1", "z2", "z3", "z4"])
        let stats = try await client.stats()
        #expect(stats.sessions == 6)
        #expect(stats.errors >= 5)
        client.close()
        try await daemon.stop()
    }
}

extension KVClientError {
    var serverMessage: String? {
        if case .server(let e) = self { return e.message }
        return nil
    }
}

import CoreTypes
import DaemonTestSupport
import Testing
import KVClient
import Protocol

/// `reconnect()` and automatic reconnects across a daemon restart (KVClient.swift).
@Suite("Reconnect")
struct ReconnectTests {
    @Test("after a daemon restart, reconnect() restores service, re-opens held sessions, data is intact")
    func reconnectAfterRestart() async throws {
        let first = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { first.removeFiles() }
        let client = try await KVClient.connect(socketPath: first.socketPath)
        first.watch(client)
        _ = try await client.createSession("keep", descriptor: testDescriptor)
        let blocks = makeBlocks(layer: 3, positions: 0..<5, seed: 21)
        let ids = try await client.appendBlocks(session: "keep", blocks: blocks)
        try await first.stop(keepingFiles: true)

        do throws(KVClientError) {
            _ = try await client.stats()
            Issue.record("call succeeded with the daemon stopped")
        } catch {
            #expect(error.isConnectionLoss, "\(error)")
        }
        // Nothing listens: reconnect fails with a typed error.
        do throws(KVClientError) {
            try await client.reconnect()
            Issue.record("reconnected to nothing")
        } catch {
            guard case .connectFailed = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }

        let second = try await InProcessDaemon(directory: first.root) { $0.retrievalTokens = 32 }
        try await client.reconnect()
        #expect(client.isConnected)
        #expect(client.heldSessionNames == ["keep"])
        // Held open again on the new connection: another client cannot drop it.
        let other = try await KVClient.connect(socketPath: second.socketPath)
        do throws(KVClientError) {
            try await other.dropSession("keep")
            Issue.record("dropped a session held open by the reconnected client")
        } catch {
            #expect(error.code == .sessionBusy, "\(error)")
        }
        let fetched = try await client.fetchBlocks(session: "keep", ids: ids)
        #expect(fetched.map(\.record.payload) == blocks.map(\.payload))
        #expect(fetched.map(\.record.position) == Array(0..<5))
        other.close()
        client.close()
        try await second.stop()
    }

    @Test("with reconnectAutomatically, the first call after a restart reconnects by itself")
    func automaticReconnect() async throws {
        let first = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { first.removeFiles() }
        let client = try await KVClient.connect(
            socketPath: first.socketPath, configuration: KVClientConfiguration(reconnectAutomatically: true))
        first.watch(client)
        _ = try await client.createSession("auto", descriptor: testDescriptor)
        try await first.stop(keepingFiles: true)
        // Let the I/O thread observe the close.
        for _ in 0..<200 where client.isConnected { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!client.isConnected)

        let second = try await InProcessDaemon(directory: first.root) { $0.retrievalTokens = 32 }
        // 20 concurrent calls find the connection closed: one reconnect serves them all.
        let infos = try await withThrowingTaskGroup(of: SessionInfo.self) { group in
            for _ in 0..<20 { group.addTask { try await client.openSession("auto") } }
            var all: [SessionInfo] = []
            for try await info in group { all.append(info) }
            return all
        }
        #expect(infos.count == 20)
        #expect(infos.allSatisfy { $0.descriptor == testDescriptor })
        #expect(client.isConnected)
        #expect(try await client.stats().connections == 1)
        client.close()
        try await second.stop()
    }
}

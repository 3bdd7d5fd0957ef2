import Protocol
import CoreTypes
import DaemonTestSupport
import Testing
@testable import KVClient

/// The caller-side read of a reply on an idle connection (Connection.readInline) and its
/// hand-over to the I/O thread.
@Suite("Inline reads against a real kvd")
struct InlineReadTests {
    @Test("round trips are answered correctly with inline reads off, cut short, and at the default", arguments: [0, 1, 150])
    func roundTripsWithAnyInlineBudget(budget: Int) async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(
            socketPath: daemon.socketPath, configuration: KVClientConfiguration(inlineReadMicroseconds: budget))
        daemon.watch(client)
        _ = try await client.createSession("doc", descriptor: testDescriptor)
        var appended = 0
        var next = [UInt32](repeating: 0, count: testDescriptor.layers)
        for round in 0..<100 {
            // A 1 µs budget ends while the reply is on its way: the I/O thread must take over.
            let layer = round % testDescriptor.layers
            let blocks = makeBlocks(layer: UInt16(layer), positions: next[layer]..<next[layer] + 1, seed: 5)
            next[layer] += 1
            _ = try await client.appendBlocks(session: "doc", blocks: blocks)
            appended += 1
            let info = try await client.openSession("doc")
            #expect(info.name == "doc")
            let stats = try await client.stats()
            #expect(stats.blocks == UInt64(appended))
        }
        client.close()
        try await daemon.stop()
    }

    @Test("an idle connection learns that the daemon went away without making a request")
    func idleConnectionSeesHangUp() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        _ = try await client.stats()
        #expect(client.isConnected)
        try await daemon.stop()
        var waited = 0
        while client.isConnected && waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(!client.isConnected, "still connected 5 s after the daemon stopped")
        let error = await #expect(throws: KVClientError.self) { try await client.stats() }
        #expect(error?.isConnectionLoss == true, "a call on the hung-up connection is a connection loss: \(String(describing: error))")
    }
}

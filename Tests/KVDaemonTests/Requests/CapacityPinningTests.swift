import CoreTypes
import DaemonTestSupport
import KVClient
import Protocol
import Testing
@testable import KVDaemon

/// A session held open by a connection is pinned: capacity eviction takes the others first and
/// never it.
struct CapacityPinningTests {
    @Test func heldSessionSurvivesEvictionClosedOneIsEvicted() async throws {
        // Payloads of the tiny shape are 256 pseudo-random (incompressible) bytes.
        let daemon = try await InProcessDaemon { $0.store.capacity = 14 * 300 }
        let holder = try await daemon.connect(), other = try await daemon.connect()
        _ = try await holder.createSession("held", descriptor: Shapes.tiny)
        _ = try await holder.appendBlocks(session: "held", blocks: (0..<4).map { Shapes.block(layer: 0, position: $0, seed: 1) })
        _ = try await other.createSession("loose", descriptor: Shapes.tiny)
        _ = try await other.appendBlocks(session: "loose", blocks: (0..<4).map { Shapes.block(layer: 0, position: $0, seed: 2) })
        try await other.closeSession("loose")
        _ = try await holder.appendBlocks(session: "held", blocks: (4..<12).map { Shapes.block(layer: 0, position: $0, seed: 1) })
        await #expect(throws: KVClientError.server(ProtocolError(.sessionNotFound, "no session \"loose\""))) {
            try await other.openSession("loose")
        }
        #expect(try await holder.openSession("held").blockCounts == [12, 0, 0])
        // Nothing left to evict: the held session cannot grow past the capacity.
        do {
            _ = try await holder.appendBlocks(session: "held", blocks: (12..<40).map { Shapes.block(layer: 0, position: $0, seed: 1) })
            Issue.record("append past the capacity succeeded")
        } catch let error {
            #expect(error.code == .capacityExceeded)
        }
        #expect(try await holder.openSession("held").blockCounts == [12, 0, 0], "a refused append stores nothing")
        holder.close(); other.close()
        try await daemon.stop()
    }
}

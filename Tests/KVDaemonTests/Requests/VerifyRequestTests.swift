import CoreTypes
import DaemonTestSupport
import KVClient
import KVStore
import Protocol
import Testing
@testable import KVDaemon

/// The daemon's `verify` request and the mapping of the store's findings to wire reason codes.
struct VerifyRequestTests {
    @Test func anAdministratorGetsTheWholeStoreVerified() async throws {
        let daemon = try await InProcessDaemon()  // the test runs as root, an administrator by default
        let client = try await daemon.connect()
        _ = try await client.createSession("a", descriptor: Shapes.tiny)
        _ = try await client.appendBlocks(session: "a", blocks: (0..<3).flatMap { layer in (0..<2).map { Shapes.block(layer: layer, position: $0) } })
        _ = try await client.forkSession(from: "a", to: "b")  // shares all 6 blocks
        let report = try await client.verify()
        #expect(report.ok && report.failureTotal == 0 && report.failures.isEmpty)
        #expect(report.blocksChecked == 6)
        #expect(report.referencesChecked == 12)  // 6 in a, the same 6 shared by b
        // The connection goes on serving after the (threaded) check.
        #expect(try await client.stats().counters.contains { $0.name == "verify.runs" && $0.value == 1 })
        client.close()
        try await daemon.stop()
    }

    @Test func aNonAdministratorIsDenied() async throws {
        let daemon = try await InProcessDaemon { $0.adminUIDs = [65534] }
        let client = try await daemon.connect()
        do {
            _ = try await client.verify()
            Issue.record("a non-administrator verified the store")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
        }
        #expect(client.isConnected)
        client.close()
        try await daemon.stop()
    }

    /// The store's typed failure kind is the wire's reason code (one table, CoreTypes'
    /// `VerifyFailureKind`), so a code never depends on message text.
    @Test func storeKindsMapToTheWireCodeOfTheSameName() {
        let failure = VerifyReport.Failure(block: nil, session: "s", kind: .storedBytesMismatch, reason: "stored bytes 10 != 20 referenced")
        let wire = VerifyReasonMapping.wire(failure)
        #expect(wire.reason == .storedBytesMismatch && wire.message == failure.reason && wire.session == "s")
    }
}

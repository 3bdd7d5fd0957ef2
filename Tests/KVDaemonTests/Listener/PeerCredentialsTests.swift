import Protocol
import CoreTypes
import DaemonTestSupport
import Testing
import KVClient
@testable import KVDaemon
#if canImport(Glibc)
import Glibc
#endif

struct PeerCredentialsTests {
    @Test func daemonSeesTheKernelReportedUidAndGidOfTheClient() async throws {
        let daemon = try await InProcessDaemon()
        let client = try await daemon.connect()
        #expect(client.server.peerUID == getuid())
        #expect(client.server.peerGID == getgid())
        client.close()
        try await daemon.stop()
    }
}

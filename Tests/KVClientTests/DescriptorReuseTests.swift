import Protocol
import CoreTypes
import DaemonTestSupport
import Testing
@testable import KVClient
#if canImport(Glibc)
import Glibc
#endif

/// Regression test: after the I/O thread closed its descriptors, `close()` (and deinit) must not
/// write its wake-up byte into whatever now has that descriptor number. (That bug injected a
/// stray byte into other sockets of the process and stalled unrelated connections.)
@Suite("Descriptor reuse")
struct DescriptorReuseTests {
    @Test("close() after the connection ended writes nothing into a socket that reused the wake descriptor")
    func noWriteIntoRecycledDescriptor() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        // Other tests run in parallel and may take the freed number first; try a few times and
        // require that the check ran at least once.
        var checked = 0
        for _ in 0..<10 where checked < 3 {
            var client: KVClient? = try await KVClient.connect(socketPath: daemon.socketPath)
            let connection = client!.currentConnection
            let wakeFD = connection.debugWakeWriteFD
            client!.close()
            for _ in 0..<500 where !connection.debugDescriptorsClosed { try await Task.sleep(for: .milliseconds(2)) }
            #expect(connection.debugDescriptorsClosed)

            var pairs: [(Int32, Int32)] = []
            var reused: (mine: Int32, peer: Int32)?
            for _ in 0..<16 where reused == nil {
                var fds: [Int32] = [-1, -1]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { break }
                pairs.append((fds[0], fds[1]))
                if fds[0] == wakeFD { reused = (fds[0], fds[1]) }
                if fds[1] == wakeFD { reused = (fds[1], fds[0]) }
            }
            if let pair = reused {
                client!.close()  // a second close: wakes nobody
                client = nil  // deinit closes again
                var byte: UInt8 = 0
                let n = recv(pair.peer, &byte, 1, Int32(MSG_DONTWAIT))
                #expect(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "a byte reached the recycled descriptor \(wakeFD)")
                checked += 1
            }
            for (a, b) in pairs {
                _ = Glibc.close(a)
                _ = Glibc.close(b)
            }
        }
        #expect(checked > 0, "the wake descriptor number was never reused by this test")
        try await daemon.stop()
    }
}

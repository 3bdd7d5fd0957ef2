import Foundation
import Protocol
import Testing

/// `openSession` and `listSessions` report a session's checkpoint sequence without copying the
/// checkpoint: open runs on kvd's event loop, where a 48 MiB copy per open stalled every other
/// connection. A real kvd is restarted (so its peak memory starts low), then opens and lists a
/// session with a 48 MiB checkpoint many times: its peak resident memory barely moves.
extension EndToEnd {
@Suite struct CheckpointHeadTests {
    @Test func openAndListDoNotCopyALargeCheckpoint() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        do {
            let client = try TestClient(socketPath: daemon.socketPath)
            defer { client.close() }
            _ = try client.createSession("big", ModelShapes.tiny)
            let state = [UInt8](repeating: 0xA5, count: 48 << 20)[...]
            guard case .ok = try client.call(.putCheckpoint(PutCheckpoint(session: "big", chunkSequence: 41, tokenCount: 7, workerState: state))) else {
                throw HarnessError("putCheckpoint: unexpected reply")
            }
        }
        _ = try daemon.stop()
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        let before = try daemon.peakResidentKiB()
        for _ in 0..<10 {
            #expect(try client.openSession("big").checkpointSequence == 41)
            guard case .sessionList(let list) = try client.call(.listSessions(ListSessions())) else { throw HarnessError("listSessions") }
            #expect(list.sessions.first?.checkpointSequence == 41)
        }
        let growth = try daemon.peakResidentKiB() - before
        #expect(growth < 8 << 10, "peak memory grew \(growth) KiB over 10 opens and lists of a 48 MiB checkpoint")
    }
}
}

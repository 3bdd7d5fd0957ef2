import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// kvd killed under a running worker: the worker must stop with a clear error, never hang and
/// never print an answer as if it were complete.
@Suite(.serialized)
struct WorkerDaemonLossTests {
    @Test("kvd killed mid-run: actqkv run exits non-zero with a clear error, no summary, within a bounded time")
    func killedDaemonFailsTheWorkerCleanly() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        try daemon.start()
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 31337, sentences: 400, depth: 0.5).write(to: doc, atomically: true, encoding: .utf8)
        let (worker, out, err) = try WorkerProcess.start(
            ["--input", doc.path, "--question", "What is the pass key?", "--socket", daemon.socketPath, "--max-tokens", "32", "--json"],
            directory: dir)
        // Kill kvd without warning once the worker is storing blocks in it (it has loaded the
        // model and is mid-prefill), polled through kvd's own stats; bounded by a deadline.
        let observer = try TestClient(socketPath: daemon.socketPath)
        var stored: UInt64 = 0
        let storing = Date().addingTimeInterval(300)
        while stored == 0 && worker.isRunning && Date() < storing {
            guard case .stats(let stats) = try observer.call(.statsRequest) else { throw HarnessError("stats: unexpected reply") }
            stored = stats.blocks
            if stored == 0 { usleep(20_000) }
        }
        observer.close()
        if stored == 0 && worker.isRunning { kill(worker.processIdentifier, SIGKILL); worker.waitUntilExit() }
        try #require(stored > 0, "the worker stored no block in kvd (running: \(worker.isRunning)):\n\((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
        #expect(worker.isRunning, "the worker finished before kvd was killed; use a longer document")
        _ = try daemon.stop(signal: SIGKILL)
        let deadline = Date().addingTimeInterval(120)
        while worker.isRunning && Date() < deadline { usleep(50_000) }
        let hung = worker.isRunning
        if hung { kill(worker.processIdentifier, SIGKILL); worker.waitUntilExit() }
        #expect(!hung, "the worker hung after kvd died")
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        _ = out
        #expect(worker.terminationStatus != 0)
        #expect(stderr.contains("kvd connection lost"), "stderr: \(stderr)")
        #expect(!stderr.contains("\"generatedTokens\""), "a failed run must not print a summary as if complete")
    }
}

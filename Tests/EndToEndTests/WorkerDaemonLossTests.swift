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
        // Let it load the model and start storing blocks, then kill kvd without warning.
        usleep(4_000_000)
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

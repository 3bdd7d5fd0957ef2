import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// kvd itself SIGKILLed under a running worker, after the run session's first checkpoint: the
/// worker stops with its typed "kvd connection lost" error, kvd is restarted on the same data
/// directory, and `--resume` finishes with exactly the answer of an uninterrupted run.
@Suite(.serialized)
struct DaemonKillResumeTests {
    @Test("kvd SIGKILLed mid-run past a checkpoint, restarted on its data: actqkv run --resume answers exactly as an uninterrupted run")
    func resumeAfterTheDaemonWasKilled() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let daemon = try DaemonProcess(extraArguments: ["--retrieval-tokens", "512", "--durability", "sync"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 27182, sentences: 60, depth: 0.4).write(to: doc, atomically: true, encoding: .utf8)
        // The same run as WorkerCrashResumeTests.
        let common = WorkerCrashResumeTests.crashRunArguments(doc: doc, socket: daemon.socketPath)

        // Once the run session is past its safe point, kill kvd — not the worker — without warning.
        let (worker, _, err) = try WorkerProcess.start(common + ["--session", "crash"], directory: dir)
        let killedAt = try WorkerCrashResumeTests.strikePastCheckpoint(worker, socket: daemon.socketPath, prefix: "crash") {
            _ = try daemon.stop(signal: SIGKILL)
        }
        // The worker notices on its next kvd call: a typed error, no summary, within a bounded time.
        let exitDeadline = Date().addingTimeInterval(120)
        while worker.isRunning && Date() < exitDeadline { usleep(20_000) }
        let hung = worker.isRunning
        if hung { kill(worker.processIdentifier, SIGKILL) }
        worker.waitUntilExit()
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        let killed = try #require(killedAt, "the worker finished before kvd could be killed past a checkpoint: \(stderr)")
        #expect(!hung, "the worker hung after kvd died")
        #expect(worker.terminationStatus != 0)
        #expect(stderr.contains("kvd connection lost"), "\(stderr)")
        #expect(!stderr.contains("\"generatedTokens\""), "a failed run must not print a summary")

        // kvd back on the same data directory: the run session and its safe point survived.
        try daemon.start()
        let check = try TestClient(socketPath: daemon.socketPath)
        let all = try WorkerCrashResumeTests.sessions(check)
        check.close()
        let stored = try #require(all.first { $0.name == killed.run }?.blockCounts.first, "run session after the restart: \(all.map(\.name))")
        let covered = try #require(all.first { $0.name == killed.run + "@checkpoint" }?.blockCounts.first)
        #expect(stored >= killed.stored, "acknowledged blocks survived the kill (\(stored) vs \(killed.stored))")
        #expect(covered == killed.covered)

        let resumed = try WorkerProcess.run(common + ["--session", "crash", "--resume"], directory: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.summary?["resumedFromSafePoint"] as? Bool == true, "\(resumed.stderr)")
        let whole = try WorkerProcess.run(common + ["--session", "whole"], directory: dir)
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.generated.count >= 2)
        #expect(resumed.generated == whole.generated, "resumed \(resumed.generated) vs uninterrupted \(whole.generated)")
        #expect(resumed.stdout == whole.stdout)
        #expect(resumed.int("reusedTokens") > 0, "it continued from the checkpoint")
        #expect(try daemon.stop() == 0)
    }
}

import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A worker killed (SIGKILL, embedded kvd included) after it appended blocks past its last
/// checkpoint: `--resume` goes back to the run session's safe point and continues
/// token-identically; without a safe point it refuses with a clear, typed error.
@Suite(.serialized)
struct WorkerCrashResumeTests {
    static func sessions(_ client: TestClient) throws -> [SessionInfo] {
        guard case .sessionList(let list) = try client.call(.listSessions(ListSessions())) else { throw HarnessError("listSessions: unexpected reply") }
        return list.sessions
    }

    /// The run of the crash tests over `doc` against the kvd at `socket`: a question asking for a
    /// long answer, so the run session keeps closing blocks after its post-prefill checkpoint (and
    /// while processing the question, after the fork's).
    static func crashRunArguments(doc: URL, socket: String) -> [String] {
        let question = "Tell a long story about the pass key, the sky and the sun, in many paragraphs."
        return ["--input", doc.path, "--question", question, "--chat", "--max-tokens", "160", "--socket", socket, "--json",
                "--checkpoint-every", "4"] + WorkerProcess.smallConfig
    }

    /// Watches kvd at `socket` until the run session of `worker` (`PREFIX~…`) holds 2+ blocks of
    /// layer 0 more than its safe point (= its last checkpoint), then calls `strike` (which kills
    /// the worker or kvd) and returns the run session's name and both block counts; nil when the
    /// worker ended first or `timeout` seconds passed.
    static func strikePastCheckpoint(
        _ worker: Process, socket: String, prefix: String, timeout: Double = 600, strike: () throws -> Void
    ) throws -> (run: String, stored: UInt32, covered: UInt32)? {
        let watcher = try TestClient(socketPath: socket)
        defer { watcher.close() }
        let deadline = Date().addingTimeInterval(timeout)
        while worker.isRunning && Date() < deadline {
            if let all = try? sessions(watcher),
               let run = all.first(where: { $0.name.hasPrefix(prefix + "~") && !$0.name.hasSuffix("@checkpoint") }),
               let safe = all.first(where: { $0.name == run.name + "@checkpoint" }),
               let stored = run.blockCounts.first, let covered = safe.blockCounts.first, stored >= covered + 2 {
                try strike()
                return (run.name, stored, covered)
            }
            usleep(20_000)
        }
        return nil
    }

    static func dropAndFork(_ client: TestClient, from source: String, to target: String) throws {
        guard case .sessionInfo = try client.call(.forkSession(ForkSession(source: source, target: target, copyCheckpoint: true))) else {
            throw HarnessError("forkSession: unexpected reply")
        }
        guard case .ok = try client.call(.dropSession(SessionRequest(name: source))) else { throw HarnessError("dropSession: unexpected reply") }
    }

    @Test("worker SIGKILLed past its last checkpoint: --resume restores the safe point and answers exactly as an uninterrupted run; without the safe point: error 708 with the remedy")
    func resumeAfterKillPastCheckpoint() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let daemon = try DaemonProcess(extraArguments: ["--retrieval-tokens", "512"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 27182, sentences: 60, depth: 0.4).write(to: doc, atomically: true, encoding: .utf8)
        let common = Self.crashRunArguments(doc: doc, socket: daemon.socketPath)

        // The worker to kill, without warning, once its run session is past its safe point.
        let (worker, _, err) = try WorkerProcess.start(common + ["--session", "crash"], directory: dir)
        let runName = try Self.strikePastCheckpoint(worker, socket: daemon.socketPath, prefix: "crash") {
            kill(worker.processIdentifier, SIGKILL)
        }?.run
        worker.waitUntilExit()
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        let run = try #require(runName, "the worker finished before it could be killed past a checkpoint: \(stderr)")
        let safe = run + "@checkpoint"
        let watcher = try TestClient(socketPath: daemon.socketPath)
        let all = try Self.sessions(watcher)
        let stored = try #require(all.first { $0.name == run }?.blockCounts.first)
        let covered = try #require(all.first { $0.name == safe }?.blockCounts.first)
        #expect(stored > covered, "the killed run holds blocks beyond its checkpoint (\(stored) vs \(covered))")

        // Without the safe point (moved aside): a typed refusal naming the remedy, nothing answered.
        try Self.dropAndFork(watcher, from: safe, to: "aside")
        watcher.close()
        let refused = try WorkerProcess.run(common + ["--session", "crash", "--resume"], directory: dir)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("code 708") && refused.stderr.contains("Rerun without --resume"), "\(refused.stderr)")
        #expect(refused.summary == nil)

        // With it: resumed from the safe point, token-identical to an uninterrupted run.
        let restorer = try TestClient(socketPath: daemon.socketPath)
        try Self.dropAndFork(restorer, from: "aside", to: safe)
        restorer.close()
        let resumed = try WorkerProcess.run(common + ["--session", "crash", "--resume"], directory: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.summary?["resumedFromSafePoint"] as? Bool == true)
        let whole = try WorkerProcess.run(common + ["--session", "whole"], directory: dir)
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.generated.count >= 2)
        #expect(resumed.generated == whole.generated, "resumed \(resumed.generated) vs uninterrupted \(whole.generated)")
        #expect(resumed.stdout == whole.stdout)
        // It continued from the checkpoint, not from the start of the run session.
        #expect(resumed.int("reusedTokens") > 0)
        #expect(resumed.int("reusedTokens") + resumed.int("computedTokens") <= whole.int("promptTokens") + whole.generated.count + 1)
    }
}

import Foundation
import Testing

/// `actqkv run` as a user runs it: real binary, real model, embedded kvd on a temporary data
/// directory shared by consecutive processes.
@Suite(.serialized)
struct WorkerSessionTests {
    @Test("resume: a worker that exits after prefill is continued by a new process token-identically to an uninterrupted run")
    func resumeAfterPrefillMatchesUninterrupted() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 48213, sentences: 90, depth: 0.3).write(to: doc, atomically: true, encoding: .utf8)
        let common = ["--input", doc.path, "--question", "What is the pass key?", "--chat", "--max-tokens", "12",
                      "--data-dir", dir.appendingPathComponent("kvd").path, "--json"] + WorkerProcess.smallConfig

        let stopped = try WorkerProcess.run(common + ["--session", "resumed", "--stop-after-prefill"], directory: dir)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.summary?["stoppedAfterPrefill"] as? Bool == true)
        #expect(stopped.generated.count == 1)
        let resumed = try WorkerProcess.run(common + ["--session", "resumed", "--resume"], directory: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let whole = try WorkerProcess.run(common + ["--session", "uninterrupted"], directory: dir)
        #expect(whole.status == 0, "\(whole.stderr)")

        #expect(whole.generated.count >= 2)
        #expect(resumed.generated == whole.generated, "resumed \(resumed.generated) vs uninterrupted \(whole.generated)")
        #expect(resumed.stdout == whole.stdout)
        // The resumed process computed only the generated tokens, not the prompt.
        #expect(resumed.int("reusedTokens") == whole.int("promptTokens"))
        // (one decode step per answer token after the first; one more if a stop token ended it)
        #expect((resumed.generated.count - 1...resumed.generated.count).contains(resumed.int("computedTokens")))
        #expect(resumed.int("blocksStored") >= 0 && whole.int("blocksStored") > 0)
    }

    @Test("sharing: a second process over the same document computes only the non-shared suffix and answers as a separate full run")
    func secondQuestionReusesTheStoredDocument() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 90517, sentences: 90, depth: 0.6).write(to: doc, atomically: true, encoding: .utf8)
        let common = ["--input", doc.path, "--chat", "--max-tokens", "10", "--data-dir", dir.appendingPathComponent("kvd").path, "--json"]
            + WorkerProcess.smallConfig
        let first = try WorkerProcess.run(common + ["--session", "doc", "--question", "What is the pass key?"], directory: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.int("reusedTokens") == 0)
        #expect((0...1).contains(first.int("computedTokens") - first.int("promptTokens") - (first.generated.count - 1)))

        let q2 = ["--question", "Repeat the pass key, digits only."]
        let second = try WorkerProcess.run(common + ["--session", "doc"] + q2, directory: dir)
        #expect(second.status == 0, "\(second.stderr)")
        let separate = try WorkerProcess.run(common + ["--session", "separate"] + q2, directory: dir)
        #expect(separate.status == 0, "\(separate.stderr)")

        let shared = second.int("reusedTokens")
        #expect(shared > 0 && shared % 128 == 0, "the stored prefix ends at a chunk boundary (\(shared))")
        #expect(shared > second.int("promptTokens") - 200, "nearly the whole document is reused (\(shared) of \(second.int("promptTokens")))")
        #expect((0...1).contains(second.int("computedTokens") - (second.int("promptTokens") - shared) - (second.generated.count - 1)))
        #expect(separate.int("reusedTokens") == 0)
        for run in [first, second, separate] {
            // The first token is handed out before the checkpoint that follows it is stored.
            #expect(run.double("firstTokenSeconds") > 0 && run.double("firstTokenSeconds") <= run.double("prefillSeconds"))
        }
        #expect(second.generated == separate.generated, "shared \(second.generated) vs separate \(separate.generated)")
        #expect(second.stdout == separate.stdout)
    }
}

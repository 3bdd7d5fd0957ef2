import Foundation
import LanguageModelTesting
import Testing

/// `actqkv run` with Gemma 3 270M (a hybrid model: 15 sliding-window layers in the process, the 3
/// global layers in kvd), a completion prompt (the base model has no chat template), real binary,
/// embedded kvd on a temporary data directory shared by consecutive processes.
@Suite(.serialized)
struct HybridWorkerTests {
    static let model = ModelTestSupport.gemmaModelPath

    @Test("Gemma 3: resume after prefill is token-identical to an uninterrupted run; a second process over the same document computes only the suffix and answers as a separate full run")
    func resumeAndSharing() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try WorkerProcess.passkeyDocument(key: 27365, sentences: 110, depth: 0.4).write(to: doc, atomically: true, encoding: .utf8)
        let common = ["--input", doc.path, "--max-tokens", "6", "--data-dir", dir.appendingPathComponent("kvd").path, "--json",
                      "--answer-prefix", "The pass key is"] + WorkerProcess.smallConfig
        let q1 = ["--question", "What is the pass key?"], q2 = ["--question", "Which number is the pass key?"]

        let stopped = try WorkerProcess.run(common + q1 + ["--session", "doc", "--stop-after-prefill"], directory: dir, model: Self.model)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.int("promptTokens") > 2000)
        let resumed = try WorkerProcess.run(common + q1 + ["--session", "doc", "--resume"], directory: dir, model: Self.model)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let whole = try WorkerProcess.run(common + q1 + ["--session", "whole"], directory: dir, model: Self.model)
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.generated.count >= 2)
        #expect(resumed.generated == whole.generated, "resumed \(resumed.generated) vs uninterrupted \(whole.generated)")
        #expect(resumed.int("reusedTokens") == whole.int("promptTokens"))
        #expect(whole.stdout.contains("27365"), "the model should find the pass key: \(whole.stdout.debugDescription)")

        // Sharing: the document prefix stored by the runs above is reused by a new question.
        let second = try WorkerProcess.run(common + q2 + ["--session", "doc"], directory: dir, model: Self.model)
        #expect(second.status == 0, "\(second.stderr)")
        let separate = try WorkerProcess.run(common + q2 + ["--session", "separate"], directory: dir, model: Self.model)
        #expect(separate.status == 0, "\(separate.stderr)")
        let shared = second.int("reusedTokens")
        #expect(shared > 0 && shared % 128 == 0, "the stored prefix ends at a chunk boundary (\(shared))")
        #expect(shared > second.int("promptTokens") - 200, "nearly the whole document is reused (\(shared) of \(second.int("promptTokens")))")
        #expect((0...1).contains(second.int("computedTokens") - (second.int("promptTokens") - shared) - (second.generated.count - 1)))
        #expect(separate.int("reusedTokens") == 0)
        #expect(second.generated == separate.generated, "shared \(second.generated) vs separate \(separate.generated)")
    }

    @Test("--chat on a base model without a chat template fails with model error 104 and the remedy")
    func chatOnBaseModelIsRefused() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try "A short document.".write(to: doc, atomically: true, encoding: .utf8)
        let r = try WorkerProcess.run(["--input", doc.path, "--question", "What?", "--chat", "--data-dir", dir.appendingPathComponent("kvd").path],
                                      directory: dir, model: Self.model)
        #expect(r.status != 0)
        #expect(r.stderr.contains("model error 104") && r.stderr.contains("--answer-prefix"), "\(r.stderr)")
    }
}

import Foundation
import Testing

/// `actqkv eval` as a user runs it, and the path from one of its samples to a traced `run`.
@Suite(.serialized)
struct WorkerEvalTests {
    @Test("eval --write-samples: a written sample rerun with `run --chat` and the same options answers as in eval; its trace holds the key")
    func aWrittenSampleReproducesWithRun() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let samples = dir.appendingPathComponent("samples")
        let kvd = dir.appendingPathComponent("kvd").path
        let eval = try WorkerProcess.run(["passkey", "--lengths", "1536", "--samples", "1", "--method", "infllm", "--seed", "3",
                                          "--max-tokens", "8", "--recall-max-length", "0", "--print-answers", "--json",
                                          "--data-dir", kvd, "--write-samples", samples.path] + WorkerProcess.smallConfig,
                                         command: "eval", directory: dir)
        #expect(eval.status == 0, "\(eval.stderr)")
        // "<length> infllm #0 depth <d> expected <key>: <answer as a Swift literal>"
        let line = try #require(eval.stderr.split(separator: "\n").first { $0.hasPrefix("1536 infllm #0 ") }, "\(eval.stderr)")
        let key = try #require(line.split(separator: " ").drop { $0 != "expected" }.dropFirst().first.map { String($0.dropLast()) })
        let evalAnswer = String(line[line.range(of: "\(key): ")!.upperBound...])

        let document = try String(contentsOf: samples.appendingPathComponent("passkey-1536-0.txt"), encoding: .utf8)
        let question = try String(contentsOf: samples.appendingPathComponent("passkey-1536-0.question.txt"), encoding: .utf8)
        #expect(document.contains("The pass key is \(key)."))
        #expect(!question.isEmpty && !document.contains(question))

        let trace = dir.appendingPathComponent("trace.jsonl")
        let run = try WorkerProcess.run(["--chat", "--input", samples.appendingPathComponent("passkey-1536-0.txt").path,
                                         "--question", question, "--method", "infllm", "--max-tokens", "8", "--data-dir", kvd,
                                         "--trace", trace.path] + WorkerProcess.smallConfig, directory: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let runAnswer = String(run.stdout.dropLast(run.stdout.hasSuffix("\n") ? 1 : 0))
        #expect(runAnswer.debugDescription == evalAnswer, "run \(runAnswer.debugDescription) vs eval \(evalAnswer)")

        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
        let prompt = try #require(lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["type"] as? String == "prompt" })
        let pieces = try #require(prompt["pieces"] as? [String])
        #expect(pieces.count == (prompt["tokens"] as? [Any])?.count)
        #expect(pieces.joined().contains("The pass key is \(key)."), "the token texts spell the prompt")
    }

    @Test("the retrieval budget is in tokens: by default 8-token blocks, 184 of them (1,472 tokens) per layer; --block 32 gives 46")
    func theBudgetIsInTokens() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        // ≈ 3,300 tokens: more closed blocks than either budget holds.
        try WorkerProcess.passkeyDocument(key: 4821, sentences: 150, depth: 0.3).write(to: doc, atomically: true, encoding: .utf8)
        for (options, blockSize, k) in [([String](), 8, 184), (["--block", "32"], 32, 46)] {
            let trace = dir.appendingPathComponent("trace-\(blockSize).jsonl")
            let run = try WorkerProcess.run(["--input", doc.path, "--question", "What is the pass key?", "--chat", "--method", "infllm",
                                             "--max-tokens", "2", "--data-dir", dir.appendingPathComponent("kvd-\(blockSize)").path,
                                             "--trace", trace.path] + options, directory: dir)
            #expect(run.status == 0, "\(run.stderr)")
            let retrieves = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["type"] as? String == "retrieve" }
            let full = retrieves.filter { ($0["totalBlocks"] as? Int ?? 0) > k }
            #expect(!full.isEmpty, "b \(blockSize): no retrieve had more than \(k) blocks to choose from")
            #expect(full.allSatisfy { ($0["chosen"] as? [Any])?.count == k }, "b \(blockSize): every full retrieve chooses K = 1472 / b blocks")
        }
        let none = try WorkerProcess.run(["--input", doc.path, "--retrieval-tokens", "0", "--data-dir", dir.appendingPathComponent("kvd-0").path],
                                         directory: dir, timeout: 120)
        #expect(none.status != 0 && none.stderr.contains("--retrieval-tokens must be ≥ 1"), "\(none.stderr)")
    }

    @Test("a negative --question-weight is refused before any work, naming the parameter")
    func aNegativeQuestionWeightIsRefused() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let doc = dir.appendingPathComponent("doc.txt")
        try "A short document.".write(to: doc, atomically: true, encoding: .utf8)
        for (command, arguments) in [("run", ["--input", doc.path]), ("eval", ["passkey", "--lengths", "1k"])] {
            let result = try WorkerProcess.run(arguments + ["--question-weight=-1", "--data-dir", dir.appendingPathComponent("kvd").path],
                                               command: command, directory: dir, timeout: 120)
            #expect(result.status != 0)
            #expect(result.stderr.contains("questionWeight"), "\(command): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("kvd").path), "\(command) started kvd")
        }
    }
}

import Foundation
import LanguageModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `actqkv eval ruler` as a user runs it: killed mid-run and run again, it finishes the plan without
/// redoing a sample; bad arguments and missing data are clear errors.
@Suite(.serialized)
struct RulerEvalTests {
    static var dataDirectory: String {
        if let d = ProcessInfo.processInfo.environment["ACTQKV_RULER_DATA"], !d.isEmpty { return d }
        return KnownModel.cacheDirectory + "/ruler"
    }

    static func arguments(results: URL, kvd: String, samples: Int) -> [String] {
        ["--tasks", "niah_single_1,niah_multikey_2", "--lengths", "1536", "--samples", "\(samples)", "--method", "dense,infllm", "--seed", "5",
         "--out", results.path, "--data", dataDirectory, "--data-dir", kvd] + WorkerProcess.smallConfig
    }

    static func lines(_ url: URL) -> [Substring] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    }

    @Test("killed after its first results, the eval run again completes the plan: every sample and method once, nothing redone")
    func resumesAfterKill() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = dir.appendingPathComponent("results.jsonl"), kvd = dir.appendingPathComponent("kvd").path
        let (p, _, _) = try WorkerProcess.start(Self.arguments(results: results, kvd: kvd, samples: 3), command: "eval ruler", directory: dir)
        let deadline = Date().addingTimeInterval(600)
        while p.isRunning && Self.lines(results).count < 3 && Date() < deadline { usleep(50_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = Self.lines(results)
        try #require(before.count >= 3 && before.count < 12, "the first run wrote \(before.count) lines")

        let second = try WorkerProcess.run(Self.arguments(results: results, kvd: kvd, samples: 3), command: "eval ruler", directory: dir)
        #expect(second.status == 0, "\(second.stderr)")
        let after = Self.lines(results)
        #expect(after.count == 12)  // 2 tasks × 3 samples × 2 methods
        #expect(Array(after.prefix(before.count)) == before, "the lines written before the kill are kept as they were")
        let records = after.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let keys = Set(records.map { "\($0["task"]!) \($0["index"]!) \($0["method"]!)" })
        #expect(keys.count == 12)
        // The second run ran only what was missing: its progress lines count the runs it did.
        let progress = second.stderr.split(separator: "\n").filter { $0.hasPrefix("[") }
        #expect(progress.count == 12 - before.count, "\(progress)")
        #expect(progress.first?.hasPrefix("[\(before.count + 1)/12]") == true, "\(progress.first ?? "")")
        // Its summary covers the whole file, and the pictures are written.
        #expect(second.stdout.contains("| niah_single_1 | 1536 | dense | 3 |") && second.stdout.contains("| niah_multikey_2 | 1536 | infllm | 3 |"))
        let charts = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("results-charts").path)
        #expect(charts.contains("accuracy-pooled.svg") && charts.contains("depth-niah_single_1-infllm.svg"))

        // A third run finds everything done and runs nothing.
        let third = try WorkerProcess.run(Self.arguments(results: results, kvd: kvd, samples: 3), command: "eval ruler", directory: dir)
        #expect(third.status == 0 && third.stderr.contains("already holds all 12 runs"), "\(third.stderr)")
        #expect(Self.lines(results) == after)
        // Other retrieval settings into the same file are refused, not mixed in.
        let other = try WorkerProcess.run(Self.arguments(results: results, kvd: kvd, samples: 3) + ["--question-weight", "2"], command: "eval ruler", directory: dir)
        #expect(other.status != 0 && other.stderr.contains("different settings"), "\(other.stderr)")
    }

    @Test("eval ruler --write-samples: a written sample rerun with `run --exact-layout` answers as in the eval")
    func aWrittenSampleReproducesWithRun() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = dir.appendingPathComponent("r.jsonl"), samples = dir.appendingPathComponent("samples"), kvd = dir.appendingPathComponent("kvd").path
        let eval = try WorkerProcess.run(["--tasks", "niah_single_2", "--lengths", "1536", "--samples", "1", "--method", "infllm", "--seed", "9",
                                          "--out", results.path, "--data", Self.dataDirectory, "--data-dir", kvd, "--write-samples", samples.path]
                                         + WorkerProcess.smallConfig, command: "eval ruler", directory: dir)
        #expect(eval.status == 0, "\(eval.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: results)) as? [String: Any])
        let base = samples.appendingPathComponent("niah_single_2-1536-9-0").path
        func part(_ name: String) throws -> String { try String(contentsOfFile: "\(base).\(name).txt", encoding: .utf8) }
        #expect(try part("references") == "\((record["references"] as? [String])?.first ?? "?")\n")
        let run = try WorkerProcess.run(["--exact-layout", "--input", "\(base).document.txt", "--question", try part("question"),
                                         "--answer-prefix", try part("answer-prefix"), "--method", "infllm", "--max-tokens", "128", "--data-dir", kvd,
                                         "--json"] + WorkerProcess.smallConfig, directory: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.int("promptTokens") == record["promptTokens"] as? Int)
        // The eval stops at the answer's first line break; the run's answer starts with the same text.
        let prediction = try #require(record["prediction"] as? String)
        #expect(run.stdout.hasPrefix(prediction), "run \(run.stdout.debugDescription) vs eval \(prediction.debugDescription)")
    }

    @Test("an unknown task and a missing data directory are clear errors")
    func badInput() throws {
        let dir = try WorkerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let unknown = try WorkerProcess.run(["--tasks", "niah_single_9", "--out", dir.appendingPathComponent("r.jsonl").path], command: "eval ruler", directory: dir)
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown RULER task 'niah_single_9'"), "\(unknown.stderr)")
        let missing = try WorkerProcess.run(["--tasks", "niah_single_2", "--method", "dense", "--data", dir.appendingPathComponent("none").path,
                                             "--out", dir.appendingPathComponent("r.jsonl").path], command: "eval ruler", directory: dir)
        #expect(missing.status != 0 && missing.stderr.contains("scripts/fetch-ruler.sh"), "\(missing.stderr)")
    }
}

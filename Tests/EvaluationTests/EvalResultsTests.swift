import Foundation
import Testing
@testable import Evaluation

/// Results files (resume, cut-off lines, conflicts), the summary and the pictures.
@Suite struct EvalResultsTests {
    static func record(task: String = "niah_single_2", length: Int = 8192, index: Int, method: String, score: Double,
                       settings: String = "s", depth: Double? = 0.5) -> EvalRecord {
        EvalRecord(task: task, length: length, seed: 1, index: index, method: method, model: "m.gguf", settings: settings, promptDigest: "d\(index)",
                   promptTokens: length - 130, references: ["1234567"], referenceDepths: [depth], hits: [score > 0], score: score,
                   prediction: score > 0 ? "1234567." : "no", generatedTokens: 5, prefillSeconds: 2, decodeSeconds: 0.5)
    }

    func temporaryFile() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ruler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("results.jsonl").path
    }

    @Test("records survive reopening; a cut-off last line is dropped and the file truncated before appending")
    func resumeAfterInterruption() throws {
        let path = try temporaryFile()
        do {
            let f = try EvalResultsFile(path: path)
            try f.append(Self.record(index: 0, method: "dense", score: 1))
            try f.append(Self.record(index: 0, method: "infllm", score: 0))
        }
        // A write cut off by a kill.
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.seekToEnd(); try h.write(contentsOf: Data("{\"task\":\"niah_sin".utf8)); try h.close()
        let reopened = try EvalResultsFile(path: path)
        #expect(reopened.droppedPartialLine)
        #expect(reopened.records.map(\.method) == ["dense", "infllm"])
        #expect(try reopened.isDone(Self.record(index: 0, method: "dense", score: 1).key, model: "m.gguf", settings: "s", promptDigest: "d0"))
        #expect(try !reopened.isDone(Self.record(index: 1, method: "dense", score: 1).key, model: "m.gguf", settings: "s", promptDigest: "d1"))
        try reopened.append(Self.record(index: 1, method: "dense", score: 1))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 3 && !text.contains("niah_sin\"") && text.hasSuffix("\n"))
        #expect(try EvalResultsFile.read(path: path).records.count == 3)
    }

    @Test("resuming with other settings, model or prompt is refused with a typed error; a malformed middle line too")
    func conflictsAreRefused() throws {
        let path = try temporaryFile()
        let f = try EvalResultsFile(path: path)
        let r = Self.record(index: 0, method: "actqkv", score: 1)
        try f.append(r)
        #expect(throws: RulerError.conflictingResults(path: path, key: r.key.description, field: "settings (s)")) {
            try f.isDone(r.key, model: "m.gguf", settings: "other", promptDigest: "d0")
        }
        #expect(throws: RulerError.self) { try f.isDone(r.key, model: "n.gguf", settings: "s", promptDigest: "d0") }
        #expect(throws: RulerError.self) { try f.isDone(r.key, model: "m.gguf", settings: "s", promptDigest: "changed") }
        try Data(("not json\n" + (try String(contentsOfFile: path, encoding: .utf8))).utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try EvalResultsFile(path: path); Issue.record("a malformed line was accepted") } catch {
            #expect(error.code == 5)
        }
    }

    @Test("summary: accuracy with Wilson intervals, ratio to dense on shared samples, sign test against infllm, pooled rows")
    func summary() {
        var records: [EvalRecord] = []
        for i in 0..<10 {
            records.append(Self.record(index: i, method: "dense", score: i < 8 ? 1 : 0))
            records.append(Self.record(index: i, method: "infllm", score: i < 2 ? 1 : 0))
            records.append(Self.record(index: i, method: "actqkv", score: i < 8 ? 1 : 0))
            records.append(Self.record(task: "qa_1", index: i, method: "actqkv", score: 0))
            records.append(Self.record(task: "qa_1", index: i, method: "dense", score: 1))
        }
        let s = EvalSummary(records: records)
        let cell = s.cells.first { $0.task == "niah_single_2" && $0.method == "actqkv" }!.scores
        #expect(cell.count == 10 && cell.accuracy == 0.8 && cell.ratioToReference == 1)
        #expect(cell.versusBaseline == EvalSummary.SignTest(better: 6, worse: 0))
        #expect(abs(cell.versusBaseline!.pValue - 2.0 / 64) < 1e-12)
        #expect(s.cells.first { $0.method == "dense" && $0.task == "niah_single_2" }!.scores.ratioToReference == nil)
        let pooled = s.pooled.first { $0.method == "actqkv" }!
        #expect(pooled.tasks == ["niah_single_2", "qa_1"] && pooled.scores.count == 20 && pooled.scores.accuracy == 0.4)
        #expect(abs(pooled.scores.ratioToReference! - 0.4 / 0.9) < 1e-12)
        let md = s.markdown()
        #expect(md.contains("| niah_single_2 | 8K | actqkv | 10 | 80.0 | 49.0–94.3 | 1.00 | +6 −0, p 0.031 |"))
        #expect(md.contains("| 8K | actqkv | 2 | 20 | 40.0 |"))
    }

    @Test("pictures: accuracy against length and the depth heatmap render with rsvg-convert at their declared size, the legend inside")
    func picturesRender() throws {
        var records: [EvalRecord] = []
        for length in [8192, 16384, 32768] {
            for i in 0..<12 {
                for (m, p) in [("dense", 0.9), ("infllm", 0.6), ("actqkv", 0.7), ("actqkv-ref", 0.5)] {
                    records.append(Self.record(length: length, index: i, method: m, score: Double(i) / 12 < p ? 1 : 0, depth: Double(i) / 12))
                }
            }
        }
        let dir = (try temporaryFile() as NSString).deletingLastPathComponent + "/charts"
        let files = try EvalCharts.write(records: records, to: dir)
        let names = Set(files.map { ($0 as NSString).lastPathComponent })
        #expect(names == ["accuracy-niah_single_2.svg", "accuracy-pooled.svg", "depth-niah_single_2-dense.svg", "depth-niah_single_2-infllm.svg",
                          "depth-niah_single_2-actqkv.svg", "depth-niah_single_2-actqkv-ref.svg"])
        // "actqkv-ref (N ≥ 12)" was cut off at the right edge when the legend had a fixed 150 px.
        let pooled = try String(contentsOfFile: dir + "/accuracy-pooled.svg", encoding: .utf8)
        let widthText = try #require(pooled.firstMatch(of: /width="(\d+)"/)?.1)
        let width = try #require(Double(widthText))
        let legend = pooled.matches(of: /<text x="([0-9.]+)" y="[0-9.]+">([^<]*\(N ≥ \d+\))<\/text>/)
        #expect(legend.map { String($0.2) } == ["dense (N ≥ 12)", "infllm (N ≥ 12)", "actqkv (N ≥ 12)", "actqkv-ref (N ≥ 12)"])
        for label in legend {
            // 12 px DejaVu Sans advances such labels ≈ 6.1 px a character on average (digits 7.6, "≥" 10, "-" 4.3).
            #expect(Double(label.1)! + 7.5 * Double(label.2.count) <= width, "\(label.2) ends past the picture's \(width) px")
        }
        let heat = try String(contentsOfFile: dir + "/depth-niah_single_2-actqkv.svg", encoding: .utf8)
        #expect(heat.contains(">100 % of 2<") && heat.contains(">0 % of 1<"))  // rows 0–10 % (depths 0, 1/12) and 90–100 % (11/12)
        for svg in files {
            let png = svg + ".png"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["rsvg-convert", "-o", png, svg]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "rsvg-convert failed on \(svg) (apt install librsvg2-bin)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
            #expect(bytes.count > 2000 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(png)")
            let text = try String(contentsOfFile: svg, encoding: .utf8)
            let w = try #require(text.firstMatch(of: /width="(\d+)"/)?.1).description, h = try #require(text.firstMatch(of: /height="(\d+)"/)?.1).description
            func be32(_ o: Int) -> Int { bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
            #expect(be32(16) == Int(w) && be32(20) == Int(h), "\(svg): PNG \(be32(16))×\(be32(20)), SVG \(w)×\(h)")
        }
    }
}

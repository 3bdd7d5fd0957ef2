import ActQKV
import ArgumentParser
import CoreTypes
import Evaluation
import Foundation
import KVClient
import LanguageModel
import Worker

/// `actqkv eval ruler`: RULER's tasks over the attention methods, one results line per sample and
/// method, resumable (docs/EVALUATION.md).
struct RulerEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ruler",
        abstract: "RULER's tasks (niah, vt, cwe, fwe, qa) per length and method; resumable results, summary and pictures.",
        discussion: """
            Samples are generated from --seed with RULER's templates in the base-model completion form (the answer \
            prefix ends the prompt) and sized in the model's tokens; every method runs the same samples. Each finished \
            sample and method is appended to --out as one JSON line; running the same command again skips what the file \
            holds, so an interrupted eval resumes where it stopped. At the end the summary of the whole file is printed \
            (Markdown) and its pictures are written to --charts. Data: scripts/fetch-ruler.sh.
            """
    )

    @Option(help: "GGUF model file, or a known model: \(KnownModel.names) (default: $ACTQKV_MODEL, else \(KnownModel.default.rawValue)).")
    var model: String?
    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8
    @Option(help: "Tasks, comma-separated, or all: \(RulerTask.allCases.map(\.rawValue).joined(separator: ", ")).")
    var tasks = "all"
    @Option(help: "Lengths in tokens (prompt + the task's answer tokens), e.g. 8k,16k.")
    var lengths = "8k"
    @Option(help: "Samples per task and length.")
    var samples = 20
    @Option(help: "Methods, comma-separated (\(RunCommand.methodNames)).")
    var method = "dense,infllm,actqkv"
    @Option(help: "Seed of the generated samples.")
    var seed: UInt64 = 1
    @Option(help: "Results file (JSON lines); an existing one is resumed.")
    var out = "ruler-results.jsonl"
    @Option(help: "Directory of the pictures (default: the results file's name without .jsonl, plus -charts).")
    var charts: String?
    @Option(help: "Directory of RULER's data (default: <cache>/ruler, filled by scripts/fetch-ruler.sh).")
    var data: String?
    @Option(help: "Generation stops at the first line break after the answer's first visible character (newline), or only at the task's answer tokens or end of text (none).")
    var stop = "newline"
    @Option(help: "kvd socket; without it an embedded kvd is started.")
    var socket: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the embedded kvd.")
    var dataDir: String?
    @Option(name: .customLong("write-samples"), help: "Also write each generated sample to DIR/<task>-<length>-<seed>-<index>.{document,question,answer-prefix,references}.txt (rerun one with `actqkv run --exact-layout --input … --question … --answer-prefix …`).")
    var writeSamples: String?
    @Flag(name: .customLong("print-answers"), help: "Print every answer with its references on standard error.")
    var printAnswers = false
    @OptionGroup(title: "Retrieval") var retrieval: RetrievalOptions

    static var defaultDataDirectory: String { KnownModel.cacheDirectory + "/ruler" }

    func validate() throws {
        guard ["newline", "none"].contains(stop) else { throw ValidationError("--stop is newline or none") }
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1") }
        _ = try RulerTask.parseList(tasks)
        for m in method.split(separator: ",") { _ = try RunCommand.parseMethod(String(m)) }
    }

    /// The settings a results line records: what changes a method's answers.
    func settingsText(_ m: RetrievalMethod, config: RetrievalConfig) -> String {
        var text = "activations \(activations.rawValue), completion layout, stop \(stop)"
        if m != .dense {
            text += ", S \(config.sinkTokens) W \(config.localWindow) E \(config.chunkTokens) b \(config.blockSize) K \(config.topK) (\(config.retrievalTokens) tokens)"
            if retrieval.budgetGrowth > 0 { text += " growing to N/\(retrieval.budgetGrowth)" }
            text += " C \(config.blockCacheCapacity) λ \(config.questionWeight) \(retrieval.statisticsScope)/\(retrieval.warmupUnit) \(config.statisticsWarmup)"
        }
        return text
    }

    func run() async throws {
        let taskList = try RulerTask.parseList(tasks)
        let lengthList = try lengths.split(separator: ",").map(SyntheticEvalCommand.parseLength)
        let methods = try method.split(separator: ",").map { try RunCommand.parseMethod(String($0)) }
        let path = KnownModel.path(for: model)
        let config = try retrieval.config
        let text = try TextModel(path: path, prefillChunk: config.chunkTokens, activations: activations)
        let fingerprint = try ModelFingerprint.of(path: path, activations: activations)
        let modelName = (path as NSString).lastPathComponent
        let generator = RulerGenerator(data: try RulerData(directory: data ?? Self.defaultDataDirectory, tasks: taskList))
        let file = try EvalResultsFile(path: out)
        if file.droppedPartialLine { log("dropped a cut-off last line of \(out) (an interrupted write); that sample runs again") }

        let kvd = methods.contains(where: { $0 != .dense }) ? try await KVDConnection.open(socket: socket, dataDir: dataDir, retrievalTokens: config.retrievalTokens, budgetGrowth: retrieval.budgetGrowth) : nil

        // The plan: what the file holds must come from this model and these settings.
        let settingsOf = Dictionary(methods.map { (RunCommand.methodName($0), settingsText($0, config: config)) }, uniquingKeysWith: { a, _ in a })
        var progress = try RulerProgress(lengths: lengthList, tasks: taskList, samples: samples, seed: seed, methods: methods.map(RunCommand.methodName)) { (key) throws(RulerError) in
            try file.isDone(key, model: modelName, settings: settingsOf[key.method]!)
        }
        if progress.remaining == 0 { log("\(out) already holds all \(progress.total) runs") }
        let tokenizer = text.tokenizer
        for length in lengthList {
            for task in taskList {
                for index in 0..<samples {
                    let keys = methods.map { EvalRecord.Key(task: task.rawValue, length: length, seed: seed, index: index, method: RunCommand.methodName($0)) }
                    guard keys.contains(where: { file.record($0) == nil }) else { continue }
                    let sample = try generator.sample(task: task, length: length, seed: seed, index: index) {
                        PromptLayout(completionDocument: $0.document, question: $0.question, answerPrefix: $0.answerPrefix, tokenizer: tokenizer).tokens.count
                    }
                    let layout = PromptLayout(completionDocument: sample.prompt.document, question: sample.prompt.question,
                                              answerPrefix: sample.prompt.answerPrefix, tokenizer: tokenizer)
                    let digest = EvalRecord.digest(tokens: layout.tokens)
                    if let writeSamples { try Self.write(sample, to: writeSamples) }
                    for (m, key) in zip(methods, keys) {
                        let settings = settingsOf[key.method]!
                        if try file.isDone(key, model: modelName, settings: settings, promptDigest: digest) { continue }
                        let request = LongContextRequest(layout: layout, maxTokens: task.tokensToGenerate, stopTokens: text.stopTokens)
                        var answer: [Int32] = []
                        let stopAtNewline = stop == "newline"
                        let summary = try await LongContextRunner.run(model: text.model, settings: LongContextSettings(method: m, retrieval: config, budgetGrowth: retrieval.budgetGrowth),
                                                                      fingerprint: fingerprint, client: m == .dense ? nil : kvd?.client, request: request) { token in
                            answer.append(token)
                            guard stopAtNewline, let t = try? tokenizer.decode(answer, renderSpecial: false) else { return true }
                            return !Self.endsAnswerLine(t)
                        }
                        let prediction = (try? tokenizer.decode(summary.generated, renderSpecial: false)) ?? ""
                        let hits = RulerScoring.hits(prediction: prediction, references: sample.references)
                        let record = EvalRecord(task: task.rawValue, length: length, seed: seed, index: index, method: key.method, model: modelName,
                                                settings: settings, promptDigest: digest, promptTokens: layout.tokens.count, references: sample.references,
                                                referenceDepths: sample.referenceDepths, hits: hits, score: RulerScoring.score(task.scoring, hits: hits),
                                                prediction: prediction, generatedTokens: summary.generated.count,
                                                prefillSeconds: summary.firstTokenSeconds, decodeSeconds: summary.decodeSeconds + summary.prefillSeconds - summary.firstTokenSeconds)
                        try file.append(record)
                        log(progress.finished(record))
                        if printAnswers { log("  \(sample.references) ← \(prediction.debugDescription)") }
                    }
                }
            }
        }
        await kvd?.close()

        print(EvalSummary(records: file.records).markdown(), terminator: "")
        let chartDirectory = charts ?? Self.defaultChartDirectory(for: out)
        let written = try EvalCharts.write(records: file.records, to: chartDirectory)
        log("wrote \(written.count) pictures to \(chartDirectory)")
    }

    /// Whether decoded answer text has ended its first line: a line break after a visible character.
    static func endsAnswerLine(_ text: String) -> Bool {
        guard let firstVisible = text.firstIndex(where: { !$0.isWhitespace }) else { return false }
        return text[firstVisible...].contains(where: \.isNewline)
    }

    static func defaultChartDirectory(for results: String) -> String {
        (results.hasSuffix(".jsonl") ? String(results.dropLast(6)) : results) + "-charts"
    }

    static func write(_ sample: RulerSample, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = "\(directory)/\(sample.task.rawValue)-\(sample.length)-\(sample.seed)-\(sample.index)"
        for (suffix, text) in [("document", sample.prompt.document), ("question", sample.prompt.question),
                               ("answer-prefix", sample.prompt.answerPrefix), ("references", sample.references.joined(separator: "\n") + "\n")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(base).\(suffix).txt"))
        }
    }

    func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// The progress line of a RULER eval: runs done of the plan, the last run, and an estimate of the
/// time left from the seconds per prompt token measured so far per method.
struct RulerProgress {
    private var remainingTokens: [String: Int] = [:]  // method → prompt tokens (≈ length) of the runs left
    private var secondsPerToken: [String: (seconds: Double, tokens: Int)] = [:]
    private(set) var total = 0
    private(set) var remaining = 0

    init(lengths: [Int], tasks: [RulerTask], samples: Int, seed: UInt64, methods: [String], done: (EvalRecord.Key) throws(RulerError) -> Bool) throws(RulerError) {
        for length in lengths {
            for task in tasks {
                for index in 0..<samples {
                    for m in methods {
                        total += 1
                        if try !done(EvalRecord.Key(task: task.rawValue, length: length, seed: seed, index: index, method: m)) {
                            remaining += 1
                            remainingTokens[m, default: 0] += length
                        }
                    }
                }
            }
        }
    }

    /// Records a finished run and returns the progress line.
    mutating func finished(_ r: EvalRecord) -> String {
        remaining -= 1
        remainingTokens[r.method, default: 0] -= r.length
        secondsPerToken[r.method, default: (0, 0)].seconds += r.seconds
        secondsPerToken[r.method, default: (0, 0)].tokens += r.promptTokens
        let all = secondsPerToken.values.reduce((0.0, 0)) { ($0.0 + $1.seconds, $0.1 + $1.tokens) }
        let fallback = all.1 > 0 ? all.0 / Double(all.1) : 0
        var left = 0.0
        for (m, tokens) in remainingTokens {
            let rate = secondsPerToken[m].map { $0.tokens > 0 ? $0.seconds / Double($0.tokens) : fallback } ?? fallback
            left += rate * Double(tokens)
        }
        let doneCount = total - remaining
        let eta = left >= 3600 ? String(format: "%.1f h", left / 3600) : String(format: "%.0f min", (left / 60).rounded(.up))
        return String(format: "[%d/%d] %@ %@ #%d %@: %.2f in %.1f s (%d tokens) — about %@ left", doneCount, total, r.task,
                      EvalSummary.lengthName(r.length), r.index, r.method, r.score, r.seconds, r.promptTokens, eta)
    }
}

/// `actqkv eval report`: the summary and pictures of one or more results files.
struct EvalReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summary table (Markdown) and pictures of RULER results files.",
        discussion: "Files are read, never changed; a later file's line replaces an earlier one's for the same sample and method."
    )

    @Argument(help: "Results files (JSON lines of actqkv eval ruler).")
    var files: [String]
    @Option(help: "Directory of the pictures (default: the first file's name without .jsonl, plus -charts).")
    var charts: String?
    @Option(help: "Reference method of the ratio column.")
    var reference = "dense"
    @Option(help: "Baseline method of the paired sign test.")
    var baseline = "infllm"

    func run() async throws {
        guard let first = files.first else { throw ValidationError("name at least one results file") }
        let records = try EvalResultsFile.records(paths: files)
        print(EvalSummary(records: records, reference: reference, baseline: baseline).markdown(), terminator: "")
        let directory = charts ?? RulerEvalCommand.defaultChartDirectory(for: first)
        let written = try EvalCharts.write(records: records, to: directory)
        FileHandle.standardError.write(Data("wrote \(written.count) pictures to \(directory)\n".utf8))
    }
}

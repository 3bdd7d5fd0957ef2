import ActQKV
import ArgumentParser
import Foundation
import KVClient
import LanguageModel
import Worker

/// `actqkv eval`: accuracy of the attention methods on long-context tasks.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy of the attention methods on long-context tasks.",
        subcommands: [SyntheticEvalCommand.self, RulerEvalCommand.self, EvalReportCommand.self],
        defaultSubcommand: SyntheticEvalCommand.self
    )
}

/// `actqkv eval [synthetic] passkey|kv-retrieval`: InfiniteBench-style synthetic tasks.
struct SyntheticEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic",
        abstract: "Accuracy per length and method on InfiniteBench-style synthetic tasks (passkey, kv-retrieval).",
        discussion: """
            Samples are generated from --seed (same seed, same samples for every method). Each sample is run \
            with the chat template, greedy, and is correct when the answer contains the expected key. Block \
            methods use an embedded kvd (or --socket) with a temporary session per sample.
            """
    )

    @Argument(help: "Task: passkey or kv-retrieval.")
    var task: String
    @Option(help: "GGUF model file, or a known model: \(KnownModel.names) (fetched by scripts/fetch-model.sh NAME; default: $ACTQKV_MODEL, else \(KnownModel.default.rawValue)).")
    var model: String?

    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8
    @Option(help: "Document lengths in tokens, e.g. 2k,4k,8k.")
    var lengths = "2k,4k"
    @Option(help: "Samples per length.")
    var samples = 5
    @Option(help: "Methods, comma-separated (\(RunCommand.methodNames)).")
    var method = "dense,infllm,actqkv"
    @Option(help: "Seed of the generated samples.")
    var seed: UInt64 = 1
    @Option(name: .customLong("filler-file"), help: "Natural text used as passkey filler instead of the repeated sentences.")
    var fillerFile: String?
    @Option(help: "kvd socket; without it an embedded kvd is started.")
    var socket: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the embedded kvd.")
    var dataDir: String?
    @Option(help: "Tokens generated per sample.")
    var maxTokens = 12
    @Option(name: .customLong("recall-max-length"), help: "Measure attention recall against dense attention up to this many prompt tokens (0: never).")
    var recallMaxLength = 16384
    @Flag(name: .customLong("print-answers"), help: "Print every sample's expected key and answer on standard error.")
    var printAnswers = false
    @Flag(help: "Print one JSON object per (length, method) line.")
    var json = false
    @Option(name: .customLong("write-samples"), help: "Write every sample's document to DIR/<task>-<length>-<index>.txt and its question to the same name ending .question.txt (to rerun one with `actqkv run --chat --trace`).")
    var writeSamples: String?
    @OptionGroup(title: "Retrieval") var retrieval: RetrievalOptions

    private func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func parseLength(_ s: Substring) throws -> Int {
        let t = s.lowercased().trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("k"), let v = Int(t.dropLast()) { return v * 1024 }
        guard let v = Int(t), v > 0 else { throw ValidationError("bad length '\(s)'") }
        return v
    }

    /// Writes each sample's document and question as UTF-8 files named by task, length and index.
    static func write(_ batch: [SyntheticTask.Sample], task: SyntheticTask, length: Int, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (i, s) in batch.enumerated() {
            let base = "\(directory)/\(task.rawValue)-\(length)-\(i)"
            try Data(s.document.utf8).write(to: URL(fileURLWithPath: base + ".txt"))
            try Data(s.question.utf8).write(to: URL(fileURLWithPath: base + ".question.txt"))
        }
    }

    func run() async throws {
        guard let kind = SyntheticTask(rawValue: task) else { throw ValidationError("unknown task '\(task)' (passkey, kv-retrieval)") }
        let lengths = try self.lengths.split(separator: ",").map(Self.parseLength)
        let methods = try method.split(separator: ",").map { try RunCommand.parseMethod(String($0)) }
        let path = KnownModel.path(for: model)
        let settingsBase = try retrieval.config
        let text = try TextModel(path: path, prefillChunk: settingsBase.chunkTokens, activations: activations)
        let fingerprint = try ModelFingerprint.of(path: path, activations: activations)
        let natural = try fillerFile.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let kvd = methods.contains(where: { $0 != .dense }) ? try await KVDConnection.open(socket: socket, dataDir: dataDir, retrievalTokens: settingsBase.retrievalTokens, budgetGrowth: retrieval.budgetGrowth) : nil
        let count: (String) -> Int = { text.tokenizer.encode($0).count }
        for length in lengths {
            let batch = (0..<samples).map { kind.sample(tokens: length, seed: seed, index: $0, naturalFiller: natural, countTokens: count) }
            if let writeSamples { try Self.write(batch, task: kind, length: length, to: writeSamples) }
            let layouts = batch.map { PromptLayout(document: $0.document, question: $0.question, tokenizer: text.tokenizer, template: text.chatTemplate,
                                                 answerPrefix: $0.answerPrefix) }
            // Dense attention at the last prompt token, for the attention recall of the block methods.
            var masses: [DenseAttentionMass?] = Array(repeating: nil, count: batch.count)
            if methods.contains(where: { $0 != .dense }) {
                for (i, layout) in layouts.enumerated() where layout.tokens.count <= recallMaxLength {
                    let mass = DenseAttentionMass(model: text.model, capacity: layout.tokens.count, target: layout.tokens.count - 1)
                    _ = try text.model.forward(tokens: layout.tokens, attention: mass, logits: .none)
                    masses[i] = mass
                }
            }
            for m in methods {
                var correct = 0, seconds = 0.0, promptTokens = 0
                var recallSum = 0.0, recallCount = 0
                for (i, s) in batch.enumerated() {
                    let layout = layouts[i]
                    let request = LongContextRequest(layout: layout, maxTokens: maxTokens, stopTokens: text.stopTokens)
                    let summary = try await LongContextRunner.run(model: text.model, settings: LongContextSettings(method: m, retrieval: settingsBase, budgetGrowth: retrieval.budgetGrowth),
                                                                  fingerprint: fingerprint, client: m == .dense ? nil : kvd?.client, request: request) { _ in true }
                    let answer = (try? text.tokenizer.decode(summary.generated, renderSpecial: false)) ?? ""
                    if answer.contains(s.expected) { correct += 1 }
                    if printAnswers {
                        FileHandle.standardError.write(Data("\(length) \(RunCommand.methodName(m)) #\(i) depth \(s.depth) expected \(s.expected): \(answer.debugDescription)\n".utf8))
                    }
                    seconds += summary.prefillSeconds + summary.decodeSeconds
                    promptTokens += summary.promptTokens
                    if m == .dense { recallSum += 1; recallCount += 1 } else if let mass = masses[i], let attended = summary.finalPromptAttended {
                        recallSum += mass.recall(of: attended); recallCount += 1
                    }
                }
                let recall = recallCount > 0 ? recallSum / Double(recallCount) : -1
                let accuracy = Double(correct) / Double(max(batch.count, 1))
                let name = RunCommand.methodName(m)
                if json {
                    emit("{\"task\":\"\(kind.rawValue)\",\"length\":\(length),\"method\":\"\(name)\",\"samples\":\(batch.count),\"correct\":\(correct),\"accuracy\":\(accuracy),\"meanPromptTokens\":\(promptTokens / max(batch.count, 1)),\"meanSeconds\":\(seconds / Double(max(batch.count, 1))),\"attentionRecall\":\(recall),\"seed\":\(seed)}")
                } else {
                    emit(String(format: "%@ %6d tokens  %-13@ %d/%d = %.2f  attention recall %.3f  (mean %.1f s/sample)", kind.rawValue, length, name,
                                correct, batch.count, accuracy, recall, seconds / Double(max(batch.count, 1))))
                }
            }
        }
        await kvd?.close()
    }
}

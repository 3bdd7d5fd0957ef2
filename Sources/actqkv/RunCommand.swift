import ActQKV
import ArgumentParser
import CoreTypes
import Foundation
import KVClient
import LanguageModel
import Worker

/// `actqkv run`: long-context inference through kvd (docs/WORKER.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Answer a question about a long input; only the attention window stays in this process, blocks live in kvd.",
        discussion: """
            The answer is streamed to standard output; a one-line summary (tokens, prefill and decode time, \
            blocks stored, bytes fetched, peak resident memory) goes to standard error. Without --socket an \
            embedded kvd is started on ${ACTQKV_CACHE:-~/.cache/actqkv}/kvd. Prompt layout: the document, a \
            blank line, the question (the question's tokens are the marked question span), a line break and \
            the --answer-prefix (a completion prompt, for base models); with --chat document and question \
            are the user message of the model's chat template. --session NAME stores the document prefix \
            once in session NAME (later runs over the same document reuse it) and the run in NAME~<hash>; \
            --resume continues that run from its last checkpoint.
            """
    )

    @Option(help: "GGUF model file, or a known model: \(KnownModel.names) (fetched by scripts/fetch-model.sh NAME; default: $ACTQKV_MODEL, else \(KnownModel.default.rawValue)).")
    var model: String?

    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8
    @Option(help: "File holding the document (UTF-8).")
    var input: String
    @Option(help: "The question; its tokens are marked as the question span.")
    var question: String?
    @Option(help: "Attention method: \(methodNames).")
    var method: String = "actqkv"
    @Option(help: "kvd socket; without it an embedded kvd is started.")
    var socket: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the embedded kvd (socket and store).")
    var dataDir: String?
    @Option(help: "Session name: store the document prefix for reuse, and make the run resumable.")
    var session: String?
    @Flag(help: "Continue the session's run from its last checkpoint (needs --session and the same input and question).")
    var resume = false
    @Flag(help: "Wrap document and question as the user message of the chat template.")
    var chat = false
    @Option(name: .customLong("answer-prefix"), help: "Without --chat: text after the question that the model continues (a completion prompt for base models, e.g. \"The pass key is\").")
    var answerPrefix: String?
    @Flag(name: .customLong("exact-layout"), help: "Without --chat: document, question and answer prefix concatenated exactly as given, with no line breaks added (the layout of `eval ruler`, whose --write-samples writes the three parts).")
    var exactLayout = false
    @Option(help: "Maximum tokens to generate.")
    var maxTokens = 64
    @Flag(name: .customLong("stop-after-prefill"), help: "Checkpoint after the prompt and the first token, then exit (resume later with --resume).")
    var stopAfterPrefill = false
    @Flag(help: "Print the summary as one JSON object on standard error instead of text.")
    var json = false
    @OptionGroup(title: "Retrieval") var retrieval: RetrievalOptions
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N execution chunks of prefill (named sessions).")
    var checkpointEvery = 32
    @Option(name: .customLong("prompt-ids"), help: "Write the prompt's token ids (space-separated) to this file.")
    var promptIDs: String?
    @Option(help: "Diagnostics: write JSON lines to this file: the prompt (tokens, question span), every retrieve's chosen blocks, and with --trace-dense the dense attention mass of the last prompt token per layer and block.")
    var trace: String?
    @Flag(name: .customLong("trace-dense"), help: "With --trace: also run a dense pass recording the last prompt token's attention (costs a dense prefill).")
    var traceDense = false

    /// The names `--method` accepts (``methodName(_:)`` of every method, in raw-value order).
    static var methodNames: String { RetrievalMethod.allCases.map(methodName).joined(separator: ", ") }

    /// The method whose ``methodName(_:)`` is `text`.
    static func parseMethod(_ text: String) throws -> RetrievalMethod {
        guard let m = RetrievalMethod.allCases.first(where: { methodName($0) == text }) else {
            throw ValidationError("unknown --method '\(text)' (\(methodNames))")
        }
        return m
    }

    static func methodName(_ m: RetrievalMethod) -> String {
        switch m {
        case .dense: "dense"
        case .infllm: "infllm"
        case .actqkv: "actqkv"
        case .actqkvReference: "actqkv-ref"
        case .activateOnly: "activate-only"
        case .dynamicOnly: "dynamic-only"
        }
    }

    func validate() throws {
        _ = try Self.parseMethod(method)
        if resume && session == nil { throw ValidationError("--resume needs --session") }
        if method == "dense" && (session != nil || resume) { throw ValidationError("--method dense keeps everything in the worker: no --session/--resume") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be ≥ 1") }
        if traceDense && trace == nil { throw ValidationError("--trace-dense needs --trace") }
        if exactLayout && chat { throw ValidationError("--exact-layout is a completion layout: not with --chat") }
    }

    var settings: LongContextSettings {
        get throws {
            LongContextSettings(method: try Self.parseMethod(method), retrieval: try retrieval.config, checkpointEveryChunks: checkpointEvery,
                                budgetGrowth: retrieval.budgetGrowth)
        }
    }

    func run() async throws {
        let path = KnownModel.path(for: model)
        let settings = try self.settings
        let text = try TextModel(path: path, prefillChunk: settings.retrieval.chunkTokens, activations: activations)
        let fingerprint = try ModelFingerprint.of(path: path, activations: activations)
        let document = try String(contentsOfFile: input, encoding: .utf8)
        let layout = exactLayout
            ? PromptLayout(completionDocument: document, question: question ?? "", answerPrefix: answerPrefix ?? "", tokenizer: text.tokenizer)
            : PromptLayout(document: document, question: question, tokenizer: text.tokenizer,
                           template: chat ? try text.requireChatTemplate() : nil, answerPrefix: answerPrefix)

        if let promptIDs {
            try Data((layout.tokens.map(String.init).joined(separator: " ") + "\n").utf8).write(to: URL(fileURLWithPath: promptIDs))
        }
        let tracer = try trace.map { try RunTrace(path: $0) }
        tracer?.prompt(layout, tokenizer: text.tokenizer)
        if let tracer, traceDense, settings.method != .dense {
            let mass = DenseAttentionMass(model: text.model, capacity: layout.tokens.count, target: layout.tokens.count - 1)
            _ = try text.model.forward(tokens: layout.tokens, attention: mass, logits: .none)
            tracer.denseMass(mass, retrieval: settings.retrieval)
        }

        var kvd: KVDConnection?
        if settings.method != .dense {
            do { kvd = try await KVDConnection.open(socket: socket, dataDir: dataDir, retrievalTokens: settings.retrieval.retrievalTokens,
                                                      budgetGrowth: settings.budgetGrowth) } catch let e as KVDConnection.Unreachable {
                Self.fail(e.description)
            }
        }
        var decoder = StreamingDecoder(tokenizer: text.tokenizer)
        let out = FileHandle.standardOutput
        var request = LongContextRequest(layout: layout, maxTokens: maxTokens, stopTokens: text.stopTokens, sessionName: session,
                                         resume: resume, stopAfterPrefill: stopAfterPrefill)
        if let tracer { request.onRetrieve = { tracer.retrieve($0) } }
        let summary: LongContextSummary
        do {
            summary = try await LongContextRunner.run(model: text.model, settings: settings, fingerprint: fingerprint, client: kvd?.client,
                                                      request: request) { token in
                if let piece = try? decoder.append(token), !piece.isEmpty { out.write(Data(piece.utf8)) }
                return true
            }
        } catch {
            out.write(Data((decoder.finish() + "\n").utf8))
            await kvd?.close()
            Self.fail("\(error) (code \(error.code))")
        }
        out.write(Data((decoder.finish() + "\n").utf8))
        tracer?.answer(summary.generated, tokenizer: text.tokenizer)
        await kvd?.close()
        FileHandle.standardError.write(Data((Self.summaryLine(summary, method: method, json: json) + "\n").utf8))
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("actqkv run: error: \(message)\n".utf8))
        Foundation.exit(1)
    }

    static func summaryLine(_ s: LongContextSummary, method: String, json: Bool) -> String {
        let c = s.counters
        let rss = peakResidentBytes() ?? 0
        if json {
            let object: [String: Any] = [
                "method": method, "promptTokens": s.promptTokens, "generatedTokens": s.generated.count,
                "computedTokens": c.computedTokens, "reusedTokens": c.reusedTokens,
                "prefillSeconds": s.prefillSeconds, "firstTokenSeconds": s.firstTokenSeconds, "decodeSeconds": s.decodeSeconds,
                "blocksStored": c.blocksStored, "blocksAcknowledged": c.blocksAcknowledged, "blocksFetched": c.blocksFetched,
                "bytesFetched": c.bytesFetched, "cacheHits": c.cacheHits, "retrieveRequests": c.retrieveRequests,
                "checkpoints": c.checkpoints, "peakWorkerKVBytes": s.peakResidentKVBytes, "peakRSSBytes": rss,
                "session": s.sessionName ?? "", "stoppedAfterPrefill": s.stoppedAfterPrefill, "resumedFromSafePoint": s.resumedFromSafePoint,
                "generated": s.generated.map { Int($0) },
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        return String(format: "actqkv run: %@; prompt %d tokens (computed %d, reused %d), answer %d tokens; prefill %.2f s (first token at %.2f s), decode %.2f s; blocks stored %d (acknowledged %d); fetched %d blocks, %.1f MB (cache hits %d, %d retrieve requests); worker K/V peak %.1f MB; peak RSS %.0f MB%@",
                      method, s.promptTokens, c.computedTokens, c.reusedTokens, s.generated.count, s.prefillSeconds, s.firstTokenSeconds, s.decodeSeconds,
                      c.blocksStored, c.blocksAcknowledged, c.blocksFetched, Double(c.bytesFetched) / 1e6, c.cacheHits, c.retrieveRequests,
                      Double(s.peakResidentKVBytes) / 1e6, Double(rss) / 1_048_576,
                      (s.sessionName.map { "; session \($0)" } ?? "") + (s.resumedFromSafePoint ? " (resumed from the safe point)" : ""))
    }
}

/// `actqkv run --trace FILE`: JSON lines for diagnosing retrieval (which blocks each retrieve
/// chose, and where the dense model's attention of the last prompt token is).
final class RunTrace: @unchecked Sendable {
    private let handle: FileHandle

    init(path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write --trace file \(path)") }
        handle = h
    }

    private func line(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        handle.write(data + Data("\n".utf8))
    }

    /// The prompt: token ids, each token's text (bytes decoded lossily as UTF-8, so a token
    /// splitting a character shows U+FFFD) and the question span.
    func prompt(_ layout: PromptLayout, tokenizer: Tokenizer) {
        let pieces = layout.tokens.map { String(decoding: (try? tokenizer.decodeBytes([$0])) ?? [], as: UTF8.self) }
        var o: [String: Any] = ["type": "prompt", "tokens": layout.tokens.map { Int($0) }, "pieces": pieces,
                                "sharedPrefix": layout.sharedPrefixCount]
        if let span = layout.questionSpan { o["questionSpan"] = [span.lowerBound, span.upperBound] }
        line(o)
    }

    func retrieve(_ t: RetrieveTrace) {
        line(["type": "retrieve", "chunk": Int(t.chunk), "start": t.start, "count": t.count, "layer": t.layer,
              "mode": t.mode == .prefill ? "prefill" : "decode", "question": t.questionTerm, "k": t.k, "totalBlocks": t.totalBlocks,
              "chosen": t.chosen])
    }

    /// Per layer: the dense probability mass (mean over heads) on the sink, on each block of b
    /// tokens after the sink (as the block memory would close them), and on the rest.
    func denseMass(_ mass: DenseAttentionMass, retrieval r: RetrievalConfig) {
        for (layer, heads) in mass.probabilities.enumerated() where !heads.isEmpty {
            let n = heads[0].count
            let blocks = max(0, (n - 1 - r.sinkTokens - r.localWindow) / r.blockSize)
            var blockMass = [Double](repeating: 0, count: blocks)
            var sink = 0.0, rest = 0.0
            var perHeadTop: [[Int]] = []
            for probs in heads {
                var headBlocks = [Double](repeating: 0, count: blocks)
                for (t, p) in probs.enumerated() {
                    let w = p / Double(heads.count)
                    if t < r.sinkTokens { sink += w; continue }
                    let b = (t - r.sinkTokens) / r.blockSize
                    if b < blocks { blockMass[b] += w; headBlocks[b] += p } else { rest += w }
                }
                perHeadTop.append(Array(headBlocks.indices.sorted { headBlocks[$0] > headBlocks[$1] }.prefix(3)))
            }
            line(["type": "dense", "layer": layer, "sink": sink, "rest": rest, "blockMass": blockMass, "headTopBlocks": perHeadTop])
        }
    }

    func answer(_ tokens: [Int32], tokenizer: Tokenizer) {
        line(["type": "answer", "tokens": tokens.map { Int($0) }, "text": (try? tokenizer.decode(tokens, renderSpecial: false)) ?? ""])
    }
}

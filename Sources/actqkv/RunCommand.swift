import ActQKV
import ArgumentParser
import Foundation
import Inference
import KVClient

/// `actqkv run`: long-context inference through kvd (docs/WORKER.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Answer a question about a long input; only the attention window stays in this process, blocks live in kvd.",
        discussion: """
            The answer is streamed to standard output; a one-line summary (tokens, prefill and decode time, \
            blocks stored, bytes fetched, peak resident memory) goes to standard error. Without --socket an \
            embedded kvd is started on ${ACTQKV_CACHE:-~/.cache/actqkv}/kvd. Prompt layout: the document, a \
            blank line, the question (the question's tokens are the marked question span); with --chat that \
            text is the user message of the model's chat template. --session NAME stores the document prefix \
            once in session NAME (later runs over the same document reuse it) and the run in NAME~<hash>; \
            --resume continues that run from its last checkpoint.
            """
    )

    @Option(help: "GGUF model file (default: $ACTQKV_MODEL or ~/.cache/actqkv/models/\(DefaultModel.fileName)).")
    var model: String?

    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8
    @Option(help: "File holding the document (UTF-8).")
    var input: String
    @Option(help: "The question; its tokens are marked as the question span.")
    var question: String?
    @Option(help: "Attention method: dense, infllm, actqkv, activate-only, dynamic-only.")
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
    @Option(help: "Maximum tokens to generate.")
    var maxTokens = 64
    @Flag(name: .customLong("stop-after-prefill"), help: "Checkpoint after the prompt and the first token, then exit (resume later with --resume).")
    var stopAfterPrefill = false
    @Flag(help: "Print the summary as one JSON object on standard error instead of text.")
    var json = false
    @Option(help: "Sink tokens S.") var sink = 64
    @Option(help: "Local window W, tokens.") var window = 512
    @Option(help: "Execution chunk E, tokens.") var chunk = 256
    @Option(help: "Tokens per block b.") var block = 32
    @Option(name: .customLong("top-k"), help: "Nominal blocks per layer K.") var topK = 46
    @Option(name: .customLong("cache-blocks"), help: "Block cache C per layer (≥ 2K).") var cacheBlocks = 128
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N execution chunks of prefill (named sessions).")
    var checkpointEvery = 32

    static func parseMethod(_ text: String) throws -> ActQKV.RetrievalMethod {
        switch text {
        case "dense": .dense
        case "infllm": .infllm
        case "actqkv": .actqkv
        case "activate-only": .activateOnly
        case "dynamic-only": .dynamicOnly
        default: throw ValidationError("unknown --method '\(text)' (dense, infllm, actqkv, activate-only, dynamic-only)")
        }
    }

    static func methodName(_ m: ActQKV.RetrievalMethod) -> String {
        switch m {
        case .dense: "dense"
        case .infllm: "infllm"
        case .actqkv: "actqkv"
        case .activateOnly: "activate-only"
        case .dynamicOnly: "dynamic-only"
        }
    }

    func validate() throws {
        _ = try Self.parseMethod(method)
        if resume && session == nil { throw ValidationError("--resume needs --session") }
        if method == "dense" && (session != nil || resume) { throw ValidationError("--method dense keeps everything in the worker: no --session/--resume") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be ≥ 1") }
    }

    var settings: LongContextSettings {
        get throws {
            let config = RetrievalConfig(sinkTokens: sink, localWindow: window, chunkTokens: chunk, blockSize: block, topK: topK,
                                         maxBlocks: 2 * topK, blockCacheCapacity: cacheBlocks)
            do { try config.validate() } catch { throw ValidationError("\(error) (code \(error.code))") }
            return LongContextSettings(method: try Self.parseMethod(method), retrieval: config, checkpointEveryChunks: checkpointEvery)
        }
    }

    func run() async throws {
        let path = model ?? DefaultModel.path
        let settings = try self.settings
        let text = try TextModel(path: path, prefillChunk: settings.retrieval.chunkTokens, activations: activations)
        let fingerprint = try ModelFingerprint.of(path: path, activations: activations)
        let document = try String(contentsOfFile: input, encoding: .utf8)
        let layout = PromptLayout(document: document, question: question, tokenizer: text.tokenizer, template: chat ? text.chatTemplate : nil)

        var embedded: EmbeddedDaemon?
        var client: KVClient?
        if settings.method != .dense {
            let socketPath: String
            if let socket { socketPath = socket } else {
                let daemon = try await EmbeddedDaemon(directory: dataDir ?? EmbeddedDaemon.defaultDirectory, fixedTopK: settings.retrieval.topK)
                embedded = daemon
                socketPath = daemon.socketPath
            }
            do { client = try await KVClient.connect(socketPath: socketPath) } catch {
                await embedded?.stop()
                Self.fail("cannot reach kvd: \(error)")
            }
        }
        var decoder = StreamingDecoder(tokenizer: text.tokenizer)
        let out = FileHandle.standardOutput
        let request = LongContextRequest(layout: layout, maxTokens: maxTokens, stopTokens: text.stopTokens, sessionName: session,
                                         resume: resume, stopAfterPrefill: stopAfterPrefill)
        let summary: LongContextSummary
        do {
            summary = try await LongContextRunner.run(model: text.model, settings: settings, fingerprint: fingerprint, client: client,
                                                      request: request) { token in
                if let piece = try? decoder.append(token), !piece.isEmpty { out.write(Data(piece.utf8)) }
                return true
            }
        } catch {
            out.write(Data((decoder.finish() + "\n").utf8))
            client?.close()
            await embedded?.stop()
            Self.fail("\(error) (code \(error.code))")
        }
        out.write(Data((decoder.finish() + "\n").utf8))
        client?.close()
        await embedded?.stop()
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
                "prefillSeconds": s.prefillSeconds, "decodeSeconds": s.decodeSeconds,
                "blocksStored": c.blocksStored, "blocksAcknowledged": c.blocksAcknowledged, "blocksFetched": c.blocksFetched,
                "bytesFetched": c.bytesFetched, "cacheHits": c.cacheHits, "retrieveRequests": c.retrieveRequests,
                "checkpoints": c.checkpoints, "peakWorkerKVBytes": s.peakResidentKVBytes, "peakRSSBytes": rss,
                "session": s.sessionName ?? "", "stoppedAfterPrefill": s.stoppedAfterPrefill, "resumedFromSafePoint": s.resumedFromSafePoint,
                "generated": s.generated.map { Int($0) },
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        return String(format: "actqkv run: %@; prompt %d tokens (computed %d, reused %d), answer %d tokens; prefill %.2f s, decode %.2f s; blocks stored %d (acknowledged %d); fetched %d blocks, %.1f MB (cache hits %d, %d retrieve requests); worker K/V peak %.1f MB; peak RSS %.0f MB%@",
                      method, s.promptTokens, c.computedTokens, c.reusedTokens, s.generated.count, s.prefillSeconds, s.decodeSeconds,
                      c.blocksStored, c.blocksAcknowledged, c.blocksFetched, Double(c.bytesFetched) / 1e6, c.cacheHits, c.retrieveRequests,
                      Double(s.peakResidentKVBytes) / 1e6, Double(rss) / 1_048_576,
                      (s.sessionName.map { "; session \($0)" } ?? "") + (s.resumedFromSafePoint ? " (resumed from the safe point)" : ""))
    }
}

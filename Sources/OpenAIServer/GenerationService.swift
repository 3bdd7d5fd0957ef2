import Foundation
import KVClient
import LanguageModel
import Logging
import Synchronization
import Worker

/// A prompt ready for the worker: its tokens and the positions worth keeping in the prompt cache.
struct PreparedPrompt: Sendable {
    var tokens: [Int32]
    /// The end of each chat message that is a token prefix of the prompt, and the multiples of
    /// the cache interval (``PromptCache``).
    var cachePoints: CachePoints
}

/// How a generation ended.
struct GenerationOutcome: Sendable {
    var promptTokens: Int
    /// Prompt tokens taken from kvd's prompt cache instead of computed.
    var cachedTokens: Int
    var completionTokens: Int
    /// `stop` (a stop token or string) or `length` (`max_tokens` reached).
    var finishReason: String
    /// Seconds from the request's admission (its first turn) to its first token, and in all.
    var firstTokenSeconds: Double
    var totalSeconds: Double
    /// Prompt-cache points kvd had no room for.
    var cachePointsSkipped = 0
}

/// The model, the worker's settings and kvd behind the HTTP routes: turns requests into prompts,
/// runs the generations in turns (``RequestQueue``: up to `maxActive` interleaved step by step) through ``LongContextRunner`` with the prompt
/// cache, and streams the answer's text.
public final class GenerationService: Sendable {
    /// The model as `GET /v1/models` names it; requests must name it too.
    public let modelID: String
    let text: TextModel
    let settings: LongContextSettings
    let fingerprint: UInt64
    let limits: ServerLimits
    /// Tokens between the prompt cache's fixed points (a multiple of the execution chunk).
    let cacheInterval: Int
    let queue: RequestQueue
    /// Resumed sessions of the last requests' cache points, ready for the next request.
    let standbys: PromptStandbys
    /// What `GET /metrics` reports.
    public let metrics: ServeMetrics
    let logger: Logger
    private let connect: @Sendable () async throws -> KVClient
    private let client = Mutex<KVClient?>(nil)

    /// - Parameters:
    ///   - connect: opens a kvd connection; called again after one was lost.
    ///   - cacheInterval: every multiple of it is a prompt-cache point (besides message ends).
    ///   - standbys: prompt-cache points kept resumed in this process (``PromptStandbys``; 0: none).
    public init(modelID: String, text: TextModel, settings: LongContextSettings, fingerprint: UInt64, limits: ServerLimits,
                cacheInterval: Int, standbys: Int, metrics: ServeMetrics = ServeMetrics(), logger: Logger,
                connect: @escaping @Sendable () async throws -> KVClient) {
        self.modelID = modelID; self.text = text; self.settings = settings; self.fingerprint = fingerprint
        self.limits = limits; self.cacheInterval = cacheInterval; self.logger = logger; self.connect = connect
        queue = RequestQueue(maxWaiting: limits.maxQueued, maxActive: limits.maxActive)
        self.standbys = PromptStandbys(capacity: standbys)
        self.metrics = metrics
    }

    /// Drops the standbys' kvd sessions and closes the kvd connection.
    public func close() async {
        await standbys.close()
        client.withLock { $0?.close(); $0 = nil }
    }

    // MARK: Prompts

    /// The chat template applied to `messages` with the generation prompt; cache points at the
    /// end of every message whose rendering is a token prefix of the whole.
    func chatPrompt(_ messages: [ChatMessage]) throws(ServeError) -> PreparedPrompt {
        guard let template = text.chatTemplate else { throw .noChatTemplate }
        let full = template.render(messages, addGenerationPrompt: true)
        let tokens = encode(full)
        var points: [Int] = []
        for i in 1..<(messages.count + 1) {
            let head = template.render(Array(messages[0..<i]), addGenerationPrompt: false)
            guard full.hasPrefix(head) else { continue }
            let t = encode(head)
            if t.count < tokens.count, tokens.starts(with: t) { points.append(t.count) }
        }
        return PreparedPrompt(tokens: tokens, cachePoints: CachePoints(messageEnds: points, fixed: fixedPoints(count: tokens.count)))
    }

    /// A completion prompt: the text as given (BOS when the model asks for it), or token ids.
    func completionPrompt(_ prompt: CompletionPrompt) throws(ServeError) -> PreparedPrompt {
        let tokens: [Int32]
        switch prompt {
        case .text(let s): tokens = text.tokenizer.encode(s, addBOS: text.tokenizer.addBOSByDefault)
        case .tokens(let ids):
            let vocabulary = Int32(text.model.config.vocabularySize)
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw .invalidValue(param: "prompt", "token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
            }
            tokens = ids
        }
        return PreparedPrompt(tokens: tokens, cachePoints: CachePoints(fixed: fixedPoints(count: tokens.count)))
    }

    private func encode(_ rendered: String) -> [Int32] {
        var t = text.tokenizer.encode(rendered)
        if text.tokenizer.addBOSByDefault, let bos = text.tokenizer.bos, t.first != bos { t.insert(bos, at: 0) }
        return t
    }

    private func fixedPoints(count: Int) -> [Int] {
        Array(stride(from: cacheInterval, to: count, by: cacheInterval))
    }

    // MARK: Generation

    /// Refuses what would fail before the request's turn (an empty or too long prompt, a full
    /// queue), so that a stream can answer with its status before sending any byte.
    func admit(_ prompt: PreparedPrompt) throws(ServeError) {
        guard !prompt.tokens.isEmpty else { throw .invalidValue(param: "prompt", "the prompt is empty") }
        guard prompt.tokens.count <= limits.maxPromptTokens else {
            throw .promptTooLong(tokens: prompt.tokens.count, limit: limits.maxPromptTokens)
        }
        if queue.waitingCount >= limits.maxQueued { throw .overloaded(queued: queue.waitingCount) }
    }

    /// Runs an admitted `prompt` when its turn comes; `onText` gets the answer's text piece by
    /// piece (stop strings cut out) and returns false when the client is gone, which ends the
    /// generation.
    func generate(_ prompt: PreparedPrompt, options: GenerationOptions, onText: @escaping (String) -> Bool) async throws(ServeError) -> GenerationOutcome {
        try await queue.withTurn { (turn) async throws(ServeError) -> GenerationOutcome in
            let kvd = try await kvdClient()
            let start = DispatchTime.now().uptimeNanoseconds
            var request = LongContextRequest(layout: PromptLayout(tokens: prompt.tokens, questionSpan: nil, sharedPrefixCount: 0),
                                             maxTokens: options.maxTokens, stopTokens: text.stopTokens,
                                             sampling: SamplingParameters(temperature: options.temperature, topP: options.topP,
                                                                          seed: options.seed ?? UInt64.random(in: 0...UInt64.max)),
                                             cachePoints: prompt.cachePoints, standbys: standbys)
            request.betweenSteps = { await turn.yield() }
            var decoder = StreamingDecoder(tokenizer: text.tokenizer, renderSpecial: false)
            var stops = StopSequences(options.stop)
            var stoppedByString = false, clientGone = false
            var firstToken: UInt64?
            let summary: LongContextSummary
            do throws(LongContextError) {
                summary = try await LongContextRunner.run(model: text.model, settings: settings, fingerprint: fingerprint, client: kvd,
                                                          request: request) { token in
                    if firstToken == nil { firstToken = DispatchTime.now().uptimeNanoseconds }
                    guard let piece = try? decoder.append(token), !piece.isEmpty else { return true }
                    let (out, stopped) = stops.feed(piece)
                    if !out.isEmpty, !onText(out) { clientGone = true; return false }
                    if stopped { stoppedByString = true; return false }
                    return true
                }
            } catch {
                if case .daemon(_, let e) = error, e.isConnectionLoss {
                    dropClient(kvd)
                    throw .kvdUnavailable("\(error)")
                }
                if error.isStorageFull { throw .kvdFull("\(error)") }
                throw .generationFailed("\(error) (code \(error.code))")
            }
            if !stoppedByString && !clientGone {
                let rest = decoder.finish()
                var (out, stopped) = stops.feed(rest)
                if !stopped { out += stops.finish() }
                if !out.isEmpty { _ = onText(out) }
                stoppedByString = stopped
            }
            let end = DispatchTime.now().uptimeNanoseconds
            let generated = summary.generated.count
            let length = !stoppedByString && generated >= options.maxTokens
            return GenerationOutcome(promptTokens: prompt.tokens.count, cachedTokens: summary.counters.reusedTokens,
                                     completionTokens: generated,
                                     finishReason: length ? "length" : "stop",
                                     firstTokenSeconds: Double((firstToken ?? end) - start) / 1e9,
                                     totalSeconds: Double(end - start) / 1e9, cachePointsSkipped: summary.counters.cachePointsSkipped)
        }
    }

    /// The kvd connection, opened on first use and after a loss.
    private func kvdClient() async throws(ServeError) -> KVClient {
        if let c = client.withLock({ $0 }) { return c }
        do {
            let c = try await connect()
            client.withLock { $0 = c }
            return c
        } catch {
            throw .kvdUnavailable("\(error)")
        }
    }

    private func dropClient(_ lost: KVClient) {
        client.withLock { if $0 === lost { $0 = nil } }
        standbys.discard(client: lost)
        lost.close()
    }
}

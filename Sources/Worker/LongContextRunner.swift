import ActQKV
import CoreTypes
import Foundation
import KVClient
import LanguageModel
import Protocol

/// What ``LongContextRunner/run(model:settings:fingerprint:client:request:onToken:)`` should do.
public struct LongContextRequest: Sendable {
    /// The prompt and its question span / shared prefix.
    public var layout: PromptLayout
    /// Most tokens to generate. Default 64.
    public var maxTokens: Int
    /// Tokens that end the answer (not reported).
    public var stopTokens: Set<Int32>
    /// `--session NAME`: the document prefix is stored once in kvd session NAME and reused by
    /// every later run over the same document; the run itself lives in session `NAME~<hash>`.
    /// nil: a temporary session, dropped at the end.
    public var sessionName: String?
    /// Continue the run session from its last checkpoint instead of starting over.
    public var resume: Bool
    /// Stop (after checkpointing) once the prompt is processed and the first token is chosen.
    public var stopAfterPrefill: Bool
    /// Called after every `retrieve` (diagnostics; nil: none).
    public var onRetrieve: (@Sendable (RetrieveTrace) -> Void)?
    /// How answer tokens are chosen. Default greedy.
    public var sampling: SamplingParameters
    /// Where to keep the run's state in kvd's prompt cache (``PromptCache``): the run starts
    /// from the longest of its points stored and stores the others it passes. nil: no prompt
    /// cache. Not with ``sessionName``.
    public var cachePoints: CachePoints?
    /// With ``cachePoints``: the in-process standbys of stored points to start from and to refill
    /// (nil: every run forks and resumes from kvd).
    public var standbys: PromptStandbys?
    /// Awaited after every execution chunk of the prompt and every generated token (a server
    /// lets other requests compute in between; nil: nothing).
    public var betweenSteps: (@Sendable () async -> Void)?

    /// Creates a request.
    public init(layout: PromptLayout, maxTokens: Int = 64, stopTokens: Set<Int32> = [], sessionName: String? = nil,
                resume: Bool = false, stopAfterPrefill: Bool = false, sampling: SamplingParameters = .greedy, cachePoints: CachePoints? = nil,
                standbys: PromptStandbys? = nil) {
        self.layout = layout; self.maxTokens = maxTokens; self.stopTokens = stopTokens; self.sessionName = sessionName
        self.resume = resume; self.stopAfterPrefill = stopAfterPrefill; self.sampling = sampling; self.cachePoints = cachePoints
        self.standbys = standbys
    }
}

/// The prompt positions a request offers to the prompt cache (``PromptCache/points(messageEnds:fixed:promptCount:)``
/// chooses the points from them).
public struct CachePoints: Sendable, Hashable {
    /// The end of each chat message that is a token prefix of the prompt.
    public var messageEnds: [Int]
    /// Other positions, e.g. every multiple of an interval.
    public var fixed: [Int]

    public init(messageEnds: [Int] = [], fixed: [Int] = []) { self.messageEnds = messageEnds; self.fixed = fixed }
}

/// What one run did.
public struct LongContextSummary: Sendable {
    /// Prompt tokens.
    public var promptTokens = 0
    /// The answer's tokens (greedy), without the stop token.
    public var generated: [Int32] = []
    /// Seconds from the start of the run to the end of prefill: the first token chosen and, for a
    /// named session, the checkpoint after it stored.
    public var prefillSeconds = 0.0
    /// Seconds from the start of the run to the moment the first answer token was handed to the
    /// caller (before the checkpoint that follows it); equal to ``prefillSeconds`` when this
    /// process chose no first token (a resumed run past it).
    public var firstTokenSeconds = 0.0
    /// Seconds of decoding after the first token.
    public var decodeSeconds = 0.0
    /// The session's counters (computed vs reused tokens, blocks stored, bytes fetched, …).
    public var counters = LongContextCounters()
    /// The kvd session of the run (nil for dense).
    public var sessionName: String?
    /// Whether the run stopped early after prefill (``LongContextRequest/stopAfterPrefill``).
    public var stoppedAfterPrefill = false
    /// Largest resident K/V of the worker seen during the run, bytes.
    public var peakResidentKVBytes = 0
    /// What the last prompt token's query attended (block methods; nil when resumed after prefill).
    public var finalPromptAttended: AttendedTokens?
    /// `--resume` found blocks stored past the last checkpoint and restarted from the safe point.
    public var resumedFromSafePoint = false
}

/// Drives a ``LongContextSession`` over a prompt: shared-prefix reuse, checkpoints, greedy decoding.
///
/// Sessions (non-dense): with a name N, the prompt's shared prefix is processed up to
/// P = ⌊min(sharedPrefixCount, n − 1) / E⌋·E tokens in kvd session N, checkpointed there, and
/// forked (blocks by reference, checkpoint and kvd's retrieval state copied) into the run session
/// `N~<hash of the prompt and settings>`, which continues. A later run over the same document
/// finds N's checkpoint, checks that its tokens are the same, forks and computes only the rest.
/// Because chunks always start at multiples of E, a forked or resumed run computes exactly what
/// an uninterrupted run computes. Checkpoints: at P, every `checkpointEveryChunks` chunks, after
/// prefill (first token chosen) and at the end.
public enum LongContextRunner {
    /// Runs `request`; `onToken` gets each answer token as it is chosen (on resume, the tokens
    /// generated before the checkpoint first); returning false stops generation.
    public static func run(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient?,
                           request: LongContextRequest, onToken: (Int32) -> Bool) async throws(LongContextError) -> LongContextSummary {
        let prompt = request.layout.tokens
        let n = prompt.count
        guard n >= 1 else { throw .model(.emptyInput) }
        let start = DispatchTime.now().uptimeNanoseconds
        var summary = LongContextSummary()
        summary.promptTokens = n
        var generated: [Int32] = []
        var temporary: String?
        let session: LongContextSession
        var cache: PromptCache?
        var points: [Int] = []
        var promptLogits: [Float]?
        guard request.cachePoints == nil || request.sessionName == nil else {
            throw .configuration("a run uses either a named session or the prompt cache, not both")
        }

        if settings.method == .dense {
            session = try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: nil, sessionName: "",
                                             denseCapacity: n + request.maxTokens + 1)
        } else {
            guard let client else { throw .configuration("method \(settings.method) needs kvd (--socket, or the embedded daemon)") }
            let descriptor = LongContextSession.descriptor(model: model, settings: settings, fingerprint: fingerprint)
            if let base = request.sessionName {
                let runName = base + "~" + runHash(prompt: request.layout, settings: settings, fingerprint: fingerprint)
                if request.resume {
                    let resumed: (session: LongContextSession, extra: [UInt8])
                    do {
                        resumed = try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint,
                                                                      client: client, sessionName: runName)
                    } catch {
                        // A worker died after appending past the last checkpoint: go back to the safe point.
                        guard case .blocksBeyondCheckpoint = error else { throw error }
                        try await LongContextSession.restoreFromSafePoint(client: client, sessionName: runName, original: error)
                        resumed = try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint,
                                                                      client: client, sessionName: runName)
                        summary.resumedFromSafePoint = true
                    }
                    let (s, extra) = resumed
                    generated = try decodeExtra(extra, promptCount: n)
                    guard Array(s.tokens) == Array((prompt + generated).prefix(s.tokens.count)) else {
                        throw .sessionMismatch("session \(runName) was built from other tokens than this input")
                    }
                    session = s
                    session.safePoint = LongContextSession.safePointName(of: runName)
                } else {
                    for name in [runName, LongContextSession.safePointName(of: runName)] {
                        do { try await client.dropSession(name) } catch where error.code == .sessionNotFound {} catch {
                            throw .daemon(operation: "dropSession \(name)", error)
                        }
                    }
                    session = try await prefixSession(model: model, settings: settings, fingerprint: fingerprint, client: client,
                                                      descriptor: descriptor, base: base, runName: runName, layout: request.layout)
                    session.safePoint = LongContextSession.safePointName(of: runName)
                    // The fresh run session holds exactly its checkpoint's blocks (if it has one): keep a safe point of it.
                    if session.position > 0 { try await session.markSafePoint() }
                }
            } else {
                let name = temporarySessionName()
                if let requested = request.cachePoints {
                    let c = PromptCache(model: model, settings: settings, fingerprint: fingerprint)
                    points = PromptCache.points(messageEnds: requested.messageEnds, fixed: requested.fixed, promptCount: n)
                    (session, promptLogits) = try await promptCacheSession(model: model, settings: settings, fingerprint: fingerprint,
                                                                           client: client, cache: c, points: points, prompt: prompt,
                                                                           runName: name, standbys: request.standbys)
                    cache = c
                } else {
                    do { _ = try await client.createSession(name, descriptor: descriptor) } catch { throw .daemon(operation: "createSession \(name)", error) }
                    session = try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: name)
                }
                // A standby taken from the prompt cache keeps the name it was forked under.
                temporary = session.sessionName
            }
        }
        do {
            return try await generate(session: session, request: request, summary: summary, generated: generated, start: start,
                                      cache: cache, points: points, temporary: temporary, promptLogits: promptLogits, onToken: onToken)
        } catch {
            // A temporary session is this run's alone: never leave it behind.
            if let temporary, let client = session.client { try? await client.dropSession(temporary) }
            throw error
        }
    }

    /// The part of ``run(model:settings:fingerprint:client:request:onToken:)`` after the session
    /// is set up: prefill (storing cache points), the first token, decoding, the last checkpoint.
    /// `promptLogits`: the last prompt token's logits when `session` has processed the whole
    /// prompt (a standby), so that the first token is chosen from them.
    static func generate(session: LongContextSession, request: LongContextRequest, summary initial: LongContextSummary,
                         generated resumed: [Int32], start: UInt64, cache: PromptCache?, points: [Int], temporary: String?,
                         promptLogits: [Float]? = nil, onToken: (Int32) -> Bool) async throws(LongContextError) -> LongContextSummary {
        let prompt = request.layout.tokens
        let n = prompt.count
        let settings = session.settings
        let e = settings.retrieval.chunkTokens
        var summary = initial
        var generated = resumed
        var sampler = Sampler(parameters: request.sampling)
        var nextPoint = points.firstIndex { $0 > session.position }
        // With standbys, the points near the prompt's end are stored in the background (PromptStandbys.Plan).
        let plan = cache != nil && (request.standbys?.capacity ?? 0) > 0
            ? PromptStandbys.Plan(points: points, start: session.position, promptCount: n, chunk: e) : nil
        session.onRetrieve = request.onRetrieve
        if let span = request.layout.questionSpan, session.questionSpan == nil, span.lowerBound >= session.position {
            try session.markQuestion(span)
        }
        summary.sessionName = session.client == nil ? nil : session.sessionName
        for t in generated where !onToken(t) { break }

        // Prefill: chunks up to the last prompt token, then the last token alone.
        var chunksSinceCheckpoint = 0
        var peak = session.residentKVBytes
        while session.position < n - 1 {
            var end = min(n - 1, session.position + (e - session.position % e))
            if let i = nextPoint { end = min(end, points[i]) }
            try await session.process(prompt[session.position..<end], mode: .prefill, logits: false)
            peak = max(peak, session.residentKVBytes)
            if let i = nextPoint, session.position == points[i], let cache, let client = session.client {
                if plan?.deferred.contains(points[i]) != true { try await storeCachePoint(session, cache: cache, client: client) }
                nextPoint = i + 1 < points.count ? i + 1 : nil
            }
            chunksSinceCheckpoint += 1
            await request.betweenSteps?()
            // Not inside the question span: the checkpoint would carry the span's rotated queries of every layer.
            let insideQuestion = session.questionSpan.map { $0.lowerBound < session.position && session.position < $0.upperBound } ?? false
            if session.client != nil, settings.checkpointEveryChunks > 0, chunksSinceCheckpoint >= settings.checkpointEveryChunks,
               request.sessionName != nil, !insideQuestion {
                try await session.checkpoint(extra: encodeExtra(promptCount: n, generated: []))
                chunksSinceCheckpoint = 0
            }
        }
        var logits: [Float] = []
        var stopped = false
        let kept = session.position == n && generated.isEmpty ? promptLogits : nil
        if session.position == n - 1 || kept != nil {
            if let kept { logits = kept } else { logits = try await session.process(prompt[(n - 1)...], mode: .prefill, logits: true) }
            summary.finalPromptAttended = session.lastAttended
            let first = sampler.sample(logits)
            generated.append(first)
            stopped = request.stopTokens.contains(first) || request.maxTokens <= 0 || !onToken(first)
            summary.firstTokenSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if let plan, let cache, let standbys = request.standbys, let client = session.client {
                standbys.prepare(plan.targets(prompt: prompt, cache: cache), warm: session.blockCaches, model: session.model, settings: settings,
                                 fingerprint: cache.fingerprint, client: client)
            }
            if request.sessionName != nil, session.client != nil {
                try await session.checkpoint(extra: encodeExtra(promptCount: n, generated: generated))
            }
        }
        summary.prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if summary.firstTokenSeconds == 0 { summary.firstTokenSeconds = summary.prefillSeconds }
        if request.stopAfterPrefill {
            summary.stoppedAfterPrefill = true
            summary.generated = generated.filter { !request.stopTokens.contains($0) }
            summary.counters = session.counters
            summary.peakResidentKVBytes = max(peak, session.residentKVBytes)
            return summary
        }

        // Greedy decoding.
        let decodeStart = DispatchTime.now().uptimeNanoseconds
        while !stopped, let last = generated.last, !request.stopTokens.contains(last), generated.count < request.maxTokens {
            logits = try await session.process([last][...], mode: .decode, logits: true)
            peak = max(peak, session.residentKVBytes)
            let next = sampler.sample(logits)
            generated.append(next)
            if request.stopTokens.contains(next) || !onToken(next) { stopped = true }
            await request.betweenSteps?()
        }
        summary.decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - decodeStart) / 1e9
        if session.client != nil {
            if request.sessionName != nil {
                try await session.checkpoint(extra: encodeExtra(promptCount: n, generated: generated))
            } else {
                try await session.drain()
            }
        }
        if let temporary, let client = session.client {
            try? await client.dropSession(temporary)
        }
        summary.generated = generated.filter { !request.stopTokens.contains($0) }
        summary.counters = session.counters
        summary.peakResidentKVBytes = max(peak, session.residentKVBytes)
        return summary
    }

    /// The first part of a named run: reuse session `base`'s stored prefix (fork) or compute and
    /// store it, then continue in `runName`.
    static func prefixSession(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient,
                              descriptor: ModelDescriptor, base: String, runName: String, layout: PromptLayout) async throws(LongContextError) -> LongContextSession {
        let e = settings.retrieval.chunkTokens
        let n = layout.tokens.count
        let p = (min(layout.sharedPrefixCount, n - 1) / e) * e
        guard p > 0 else {
            do { _ = try await client.createSession(runName, descriptor: descriptor) } catch { throw .daemon(operation: "createSession \(runName)", error) }
            return try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: runName)
        }
        var prefixCounters: LongContextCounters?
        let opened: SessionInfo?
        do { opened = try await client.openSession(base) } catch where error.code == .sessionNotFound { opened = nil } catch {
            throw .daemon(operation: "openSession \(base)", error)
        }
        // Another model's (or block layout's) session is refused before anything of it is read.
        if let opened, opened.descriptor != descriptor {
            throw .sessionMismatch(
                "session \(base) was stored by another model or block layout (\(opened.descriptor), this run \(descriptor)); use another --session name or drop it (kvctl drop \(base))")
        }
        var baseExists = opened != nil
        var found: Checkpoint?
        if baseExists {
            do { found = try await client.getCheckpoint(session: base) } catch where error.code == .checkpointNotFound {
                // A worker died while computing the prefix (it is checkpointed once complete): start it again.
                do { try await client.dropSession(base) } catch { throw .daemon(operation: "dropSession \(base) (incomplete prefix)", error) }
                baseExists = false
            } catch {
                throw .daemon(operation: "getCheckpoint \(base) (the stored prefix)", error)
            }
        }
        if baseExists, let stored = found {
            let state: WorkerCheckpoint
            do { state = try WorkerCheckpoint(decoding: Array(stored.workerState)) } catch {
                throw .checkpointMismatch("worker state of \(base): \(error) (code \(error.code))")
            }
            guard state.fingerprint == LongContextSession.blockFingerprint(model: model, fingerprint: fingerprint), state.method == settings.method.rawValue else {
                throw .sessionMismatch("session \(base) was stored with another model or method; use another --session name or drop it (kvctl drop \(base))")
            }
            guard state.tokens.count == p, Array(state.tokens) == Array(layout.tokens[0..<p]) else {
                throw .sessionMismatch("session \(base) holds a different document prefix (\(state.tokens.count) tokens stored, \(p) shared here); use another --session name or drop it (kvctl drop \(base))")
            }
        } else {
            do { _ = try await client.createSession(base, descriptor: descriptor) } catch { throw .daemon(operation: "createSession \(base)", error) }
            let s = try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: base)
            try await s.process(layout.tokens[0..<p], mode: .prefill, logits: false)
            try await s.checkpoint()
            prefixCounters = s.counters
        }
        do { _ = try await client.forkSession(from: base, to: runName, copyCheckpoint: true) } catch {
            throw .daemon(operation: "forkSession \(base) → \(runName)", error)
        }
        do { try await client.closeSession(base) } catch { throw .daemon(operation: "closeSession \(base)", error) }
        let (session, _) = try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: runName)
        if let prefixCounters {
            // This process computed the prefix itself: count that work, not a reuse.
            session.counters = prefixCounters
        }
        return session
    }

    /// 16 hex digits naming the run session of a prompt under these settings.
    static func runHash(prompt: PromptLayout, settings: LongContextSettings, fingerprint: UInt64) -> String {
        var h = PrefixHasher()
        settings.absorb(into: &h)
        h.absorb64(fingerprint)
        for t in prompt.tokens { h.absorb(UInt32(bitPattern: t)) }
        if let s = prompt.questionSpan { h.absorb64(UInt64(s.lowerBound)); h.absorb64(UInt64(s.upperBound)) }
        return String(h.low ^ h.high, radix: 16).leftPadded(to: 16)
    }

    /// The run's part of a checkpoint (``WorkerCheckpoint``'s `extra`): `promptCount u64 |
    /// generated count u32 | tokens i32 × count`, little-endian.
    static func encodeExtra(promptCount: Int, generated: [Int32]) -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(promptCount)); w.u32(UInt32(generated.count))
        for t in generated { w.u32(UInt32(bitPattern: t)) }
        return w.bytes
    }

    static func decodeExtra(_ bytes: [UInt8], promptCount: Int) throws(LongContextError) -> [Int32] {
        if bytes.isEmpty { return [] }
        var r = ByteReader<ArraySlice<UInt8>, StateDecodingError>(bytes[...])
        let count: UInt64
        do { count = try r.u64("prompt length") } catch { throw .checkpointMismatch("the run's checkpoint bytes: \(error) (code \(error.code))") }
        guard count == UInt64(promptCount) else { throw .sessionMismatch("the checkpoint was written for a prompt of \(count) tokens, this one has \(promptCount)") }
        var out: [Int32] = []
        do {
            let g = try r.count(UInt64(try r.u32("generated count")), each: 4)
            for _ in 0..<g { out.append(Int32(bitPattern: try r.u32("generated token"))) }
        } catch { throw .checkpointMismatch("the run's checkpoint bytes: \(error) (code \(error.code))") }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

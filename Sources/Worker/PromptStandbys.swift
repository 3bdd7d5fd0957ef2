import Foundation
import KVClient
import LanguageModel
import Synchronization

/// The in-process tier of the prompt cache (`actqkv serve`): for the prompts of recent runs, a
/// *standby* — a kvd session forked from a stored cache point, resumed into a
/// ``LongContextSession`` and advanced to where the next request most likely diverges — so that
/// the next request from there starts computing at once instead of forking and resuming first
/// (docs/SERVER.md §"The prompt cache is kvd").
///
/// Once a run has chosen its first token it asks for two standbys, prepared in the background:
/// one at its whole prompt (forked from its last stored point, then the tokens after that point
/// processed as the run processed them, the last one alone, keeping its logits: a repeated
/// request computes nothing before its first token), one at that stored point (a new question
/// after the same document). Cache points within one execution chunk after the last point the
/// run stored are not stored by the run, on the way to its first token, but by the first of these
/// preparations (the run still cuts its chunks there). A run takes its prompt's standby, else the
/// standby of its longest stored point — it becomes the run's session, dropped at the end like
/// any run session. Because a standby is built by the steps a run would take, with the same chunk
/// boundaries, a run from one computes exactly what it would have computed. At most ``capacity``
/// standbys are kept; the least recently prepared is dropped first, with its kvd session.
/// Standbys belong to one kvd connection: ``discard(client:)`` forgets them when it is lost.
public final class PromptStandbys: Sendable {
    /// Standbys kept at most (0: none are prepared).
    public let capacity: Int

    /// What to prepare: the state after a prompt prefix, from a stored point (a prefix of it),
    /// with the tokens after the point processed in prefill mode — cut and stored at the cache
    /// points the run left to the background.
    struct Target: Sendable {
        /// ``PromptCache/sessionName(prefix:)`` of the whole prefix: the standby's key.
        var key: String
        /// The stored point's session.
        var point: String
        /// The tokens after the point.
        var extra: [Int32]
        /// Whether `extra` ends the prompt: its last token is processed alone, with logits, as
        /// a run processes a prompt's last token.
        var endsPrompt = false
        /// Cache points to store on the way: counts of `extra` tokens processed (increasing,
        /// 1…extra.count), each with its ``PromptCache/sessionName(prefix:)``.
        var stores: [(count: Int, name: String)] = []
        /// The cache the points belong to.
        var cache: PromptCache
    }

    /// Which of a run's cache points it stores itself and which standbys it asks for.
    ///
    /// The run stores a point unless it lies within one execution chunk after the last point
    /// stored before it (or the stored point the run started from), and after every point the run
    /// stores: those are *deferred*, stored by the background preparation of the first target,
    /// which continues from ``lastStored`` through them to the prompt's end (at most a chunk of
    /// tokens computed again, off the way to the first token). A run that starts from
    /// nothing stored stores its first point itself.
    struct Plan: Equatable {
        /// The last point stored when the run has passed its points (0: none).
        var lastStored = 0
        /// The points stored in the background, increasing.
        var deferred: [Int] = []
        /// The last point stored before the prompt's end that a new question most likely
        /// continues from: ``lastStored``, or the stored point before it when that is the prompt
        /// but its last token (nil: none).
        var questionPoint: Int?
        /// Prompt tokens.
        var promptCount: Int

        /// - Parameters:
        ///   - points: the run's cache points (``PromptCache/points(messageEnds:fixed:promptCount:)``).
        ///   - start: where the run starts (its stored point or standby); points up to it are stored.
        ///   - chunk: the execution chunk E, tokens.
        init(points: [Int], start: Int, promptCount: Int, chunk: Int) {
            self.promptCount = promptCount
            lastStored = points.last { $0 <= start } ?? 0
            for q in points where q > start {
                if lastStored > 0 && q - lastStored <= chunk { deferred.append(q) } else { lastStored = q }
            }
            // Only points after the last one the run stores: the background continues from there.
            deferred.removeAll { $0 < lastStored }
            let before = lastStored < promptCount - 1 ? lastStored : points.last { $0 < lastStored && !deferred.contains($0) }
            questionPoint = before.flatMap { $0 > 0 ? $0 : nil }
        }

        /// The standbys to prepare once the run has chosen its first token: the whole prompt (from
        /// ``lastStored``, storing the deferred points on the way) and ``questionPoint``. None when
        /// nothing is stored to start from.
        func targets(prompt: [Int32], cache: PromptCache) -> [Target] {
            guard lastStored > 0 else { return [] }
            let n = promptCount
            let from = cache.sessionName(prefix: prompt[0..<lastStored])
            var targets = [Target(key: cache.sessionName(prefix: prompt[0..<n]), point: from, extra: Array(prompt[lastStored..<n]),
                                  endsPrompt: true,
                                  stores: deferred.map { ($0 - lastStored, cache.sessionName(prefix: prompt[0..<$0])) }, cache: cache)]
            if let q = questionPoint {
                let name = cache.sessionName(prefix: prompt[0..<q])
                targets.append(Target(key: name, point: name, extra: [], cache: cache))
            }
            return targets
        }
    }

    /// A resumed session handed from the task that prepared it to the one run that takes it.
    private final class Standby: @unchecked Sendable {
        let session: LongContextSession
        /// The logits of the session's last token when it ends a prompt (else nil).
        let logits: [Float]?
        init(_ session: LongContextSession, logits: [Float]?) {
            self.session = session
            self.logits = logits
        }
    }

    private struct State {
        /// Ready standbys by key, oldest first.
        var ready: [(key: String, standby: Standby)] = []
        /// Keys being prepared, and the tasks preparing them.
        var preparing: [String: Task<Void, Never>] = [:]
        /// Cache points being stored by a preparation, and its task.
        var storing: [String: Task<Void, Never>] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init(capacity: Int) { self.capacity = capacity }

    /// The standby whose key is `key`, on `client`, removed from the table, with the logits of
    /// its last token when it ends a prompt; nil when none is ready.
    func take(_ key: String, client: KVClient) -> (session: LongContextSession, logits: [Float]?)? {
        let standby: Standby? = state.withLock { s in
            guard let i = s.ready.firstIndex(where: { $0.key == key }) else { return nil }
            return s.ready.remove(at: i).standby
        }
        guard let standby, standby.session.client === client else { return nil }
        return (standby.session, standby.logits)
    }

    /// Prepares, in the background, each target that has no standby ready or in preparation,
    /// its block caches started with `warm`'s blocks (the run's, whose prompt the targets are prefixes of).
    func prepare(_ targets: [Target], warm: LongContextSession.BlockCaches?, model: DecoderModel, settings: LongContextSettings,
                 fingerprint: UInt64, client: KVClient) {
        guard capacity > 0 else { return }
        for target in targets {
            state.withLock { s in
                guard !s.closed, s.preparing[target.key] == nil, !s.ready.contains(where: { $0.key == target.key }) else { return }
                let task = Task { [self] in
                    let prepared = await Self.standby(target, warm: warm, model: model, settings: settings, fingerprint: fingerprint,
                                                      client: client)
                    let dropped: [Standby] = state.withLock { s in
                        s.preparing[target.key] = nil
                        for store in target.stores { s.storing[store.name] = nil }
                        guard let prepared else { return [] }
                        if s.closed { return [prepared] }
                        s.ready.append((target.key, prepared))
                        let excess = max(0, s.ready.count - capacity)
                        defer { s.ready.removeFirst(excess) }
                        return s.ready.prefix(excess).map(\.standby)
                    }
                    for d in dropped { try? await d.session.client?.dropSession(d.session.sessionName) }
                }
                s.preparing[target.key] = task
                for store in target.stores { s.storing[store.name] = task }
            }
        }
    }

    /// Returns once no preparation is making the standby `key` or storing the cache point `key`
    /// (so that a request right after another one finds what its predecessor left).
    func awaitPreparation(of key: String) async {
        while let task = state.withLock({ s in s.preparing[key] ?? s.storing[key] }) { await task.value }
    }

    /// Forgets the standbys of `client` (a lost connection: their sessions cannot be dropped through it).
    public func discard(client: KVClient) {
        state.withLock { s in s.ready.removeAll { $0.standby.session.client === client } }
    }

    /// Waits for the standbys in preparation, then drops every standby's kvd session; no new one
    /// is prepared afterwards.
    public func close() async {
        let tasks = state.withLock { s in
            s.closed = true
            return Array(s.preparing.values)
        }
        for t in tasks { await t.value }
        let ready = state.withLock { s in
            defer { s.ready = [] }
            return s.ready.map(\.standby)
        }
        for r in ready { try? await r.session.client?.dropSession(r.session.sessionName) }
    }

    /// Standbys ready now (diagnostics and tests).
    public var readyCount: Int { state.withLock { $0.ready.count } }

    /// Returns once no standby is in preparation.
    public func settle() async {
        while true {
            let tasks = state.withLock { Array($0.preparing.values) }
            if tasks.isEmpty { return }
            for t in tasks { await t.value }
        }
    }

    /// Forks the target's point into a new session, resumes it, starts its block caches with
    /// `warm`'s and processes the extra tokens (the last alone, keeping its logits, when they end
    /// the prompt); nil when the point is gone (evicted) or kvd fails. Its counters then count
    /// every token as reused: the run that takes it computes none of them.
    private static func standby(_ target: Target, warm: LongContextSession.BlockCaches?, model: DecoderModel,
                                settings: LongContextSettings, fingerprint: UInt64, client: KVClient) async -> Standby? {
        let name = LongContextRunner.temporarySessionName(kind: "standby")
        do {
            _ = try await client.forkSession(from: target.point, to: name, copyCheckpoint: true)
        } catch {
            return nil
        }
        do {
            let session = try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint, client: client,
                                                              sessionName: name).session
            if let warm { session.adoptBlockCaches(warm) }
            let last = target.extra.count - (target.endsPrompt ? 1 : 0)
            var done = 0
            let stores = target.stores.map(\.count)
            for end in stores + [last] where end > done {
                try await session.process(target.extra[done..<end], mode: .prefill, logits: false)
                done = end
                if stores.contains(end) { try await LongContextRunner.storeCachePoint(session, cache: target.cache, client: client) }
            }
            var logits: [Float]?
            if target.endsPrompt { logits = try await session.process(target.extra[last...], mode: .prefill, logits: true) }
            session.counters = LongContextCounters()
            session.counters.reusedTokens = session.position
            return Standby(session, logits: logits)
        } catch {
            try? await client.dropSession(name)
            return nil
        }
    }
}

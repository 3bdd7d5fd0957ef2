import Foundation
import KVClient
import LanguageModel
import Protocol

/// Prompt prefixes kept in kvd for reuse by later requests (`actqkv serve`): the state of a run
/// after its first p tokens, stored as a kvd session (blocks by reference and the checkpoint)
/// named by the content it holds.
///
/// A request names its **cache points**: prompt positions at which a later request is likely to
/// diverge (the end of each chat message, the end of the prompt but its last token). Every cache
/// point is an execution-chunk boundary of the run (the run cuts its chunks there, besides the
/// multiples of E), so a run that continues from a stored point computes exactly what a run from
/// the start computes, provided both have the same cache points below it — which holds for the
/// message ends of a chat that only grows.
///
/// The session of point p is `prompt~` followed by 32 hex digits of a 128-bit FNV-1a over the
/// settings, the model's block fingerprint and tokens 0..<p (``sessionName(prefix:)``); a
/// collision is caught when the continuing run compares the checkpoint's tokens with its own.
/// Stored points are ordinary sessions of the process's owner: kvd's `--capacity` and
/// `--owner-quota` evict the least recently used ones, and any process on the same kvd (and
/// uid) reuses them.
public struct PromptCache: Sendable {
    /// What every stored state depends on besides the tokens: the settings and the model.
    let settings: LongContextSettings
    /// The model file's fingerprint (``ModelFingerprint``), as runs and resumes take it.
    let fingerprint: UInt64
    /// The model's block fingerprint (``LongContextSession/blockFingerprint(model:fingerprint:)``).
    let blockFingerprint: UInt64

    /// The prefix of every session name this cache creates.
    public static let namePrefix = "prompt~"

    /// A cache for runs of `model` (file fingerprint `fingerprint`) under `settings`.
    public init(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64) {
        self.settings = settings
        self.fingerprint = fingerprint
        blockFingerprint = LongContextSession.blockFingerprint(model: model, fingerprint: fingerprint)
    }

    /// The kvd session holding the state after `prefix`.
    public func sessionName(prefix: ArraySlice<Int32>) -> String {
        var h = PrefixHasher()
        settings.absorb(into: &h)
        h.absorb64(blockFingerprint)
        h.absorb64(UInt64(prefix.count))
        for t in prefix { h.absorb(UInt32(bitPattern: t)) }
        return Self.namePrefix + hex(h.high) + hex(h.low)
    }

    /// Points closer than this (tokens) to a message end are not kept besides it: each point
    /// costs a checkpoint and a fork, and the few tokens between two such points are cheap to
    /// compute.
    public static let mergeDistance = 64

    /// The cache points of a prompt of `count` tokens, sorted and unique: every message end
    /// (`messageEnds`) inside the prompt; every fixed point (`fixed`, e.g. multiples of an
    /// interval) not within ``mergeDistance`` of a message end; and count − 1 (the prompt but its
    /// last token, which is processed alone for the first answer token: a repeated prompt
    /// computes only that token) unless a kept point lies within ``mergeDistance`` before it.
    ///
    /// Whether a point is kept depends only on the message ends near it, never on where the
    /// prompt ends (but for count − 1 itself), so a chat that grows keeps the same points below
    /// its new messages — the condition for exact reuse.
    public static func points(messageEnds: [Int], fixed: [Int] = [], promptCount count: Int) -> [Int] {
        let inside = { (p: Int) in p > 0 && p < count - 1 }
        let ends = Set(messageEnds.filter(inside))
        var kept = ends
        for p in fixed where inside(p) && !ends.contains(where: { abs($0 - p) <= mergeDistance }) { kept.insert(p) }
        if count >= 2, !kept.contains(where: { $0 >= count - 1 - mergeDistance }) { kept.insert(count - 1) }
        return kept.sorted()
    }

    private func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

extension LongContextRunner {
    /// The start of a prompt-cache run: the standby of the whole prompt (a repeated request; with
    /// the logits of its last token), else the longest stored cache point of `prompt` — its
    /// standby when one is ready, else forked into `runName` and resumed (its tokens checked
    /// against the prompt's) — or else a new session `runName`. A standby or point that a
    /// preparation is making is waited for: it costs less than computing what it holds.
    static func promptCacheSession(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient,
                                   cache: PromptCache, points: [Int], prompt: [Int32], runName: String,
                                   standbys: PromptStandbys?) async throws(LongContextError) -> (session: LongContextSession, logits: [Float]?) {
        // The standby of the whole prompt (never a point), then the points, longest first.
        for p in [prompt.count] + points.reversed() where p > 0 {
            let stored = cache.sessionName(prefix: prompt[0..<p])
            await standbys?.awaitPreparation(of: stored)
            if let (session, logits) = standbys?.take(stored, client: client) {
                if session.tokens == Array(prompt[0..<p]) { return (session, logits) }
                try? await client.dropSession(session.sessionName)
            }
            guard p < prompt.count else { continue }
            do {
                _ = try await client.forkSession(from: stored, to: runName, copyCheckpoint: true)
            } catch where error.code == .sessionNotFound || error.code == .checkpointNotFound {
                continue
            } catch {
                throw .daemon(operation: "forkSession \(stored) → \(runName)", error)
            }
            let session = try await LongContextSession.resume(model: model, settings: settings, fingerprint: fingerprint,
                                                              client: client, sessionName: runName).session
            if session.tokens == Array(prompt[0..<p]) { return (session, nil) }
            // A hash collision (or a foreign session under our name): not ours, compute instead.
            do { try await client.dropSession(runName) } catch { throw .daemon(operation: "dropSession \(runName)", error) }
        }
        let descriptor = LongContextSession.descriptor(model: model, settings: settings, fingerprint: fingerprint)
        do { _ = try await client.createSession(runName, descriptor: descriptor) } catch { throw .daemon(operation: "createSession \(runName)", error) }
        return (try LongContextSession(model: model, settings: settings, fingerprint: fingerprint, client: client, sessionName: runName), nil)
    }

    /// Stores the run's state at its current position (a cache point) as the cache's session of
    /// the tokens so far: checkpoint, fork, close. A session another process stored meanwhile
    /// under the same name holds the same state and is kept. A point kvd has no room for is not
    /// stored (counted in ``LongContextCounters/cachePointsSkipped``): the cache is an
    /// optimisation, and the run's own blocks, if they were refused, fail its next chunk.
    static func storeCachePoint(_ session: LongContextSession, cache: PromptCache, client: KVClient) async throws(LongContextError) {
        do {
            try await session.checkpoint()
        } catch where error.isStorageFull {
            session.counters.cachePointsSkipped += 1
            return
        }
        let name = cache.sessionName(prefix: session.tokens[...])
        do {
            _ = try await client.forkSession(from: session.sessionName, to: name, copyCheckpoint: true)
        } catch where error.code == .sessionExists {
            return
        } catch where error.isStorageFull {
            session.counters.cachePointsSkipped += 1
            return
        } catch {
            throw .daemon(operation: "forkSession \(session.sessionName) → \(name)", error)
        }
        do { try await client.closeSession(name) } catch { throw .daemon(operation: "closeSession \(name)", error) }
    }
}

extension LongContextRunner {
    /// A name for a session that belongs to this process alone — a run's (`kind` nil) or a
    /// standby's (`kind` "standby"): `actqkv-[kind-]PID-RANDOM`. Dropped when done; one left by a
    /// process that was killed is found by ``dropAbandonedSessions(client:)``.
    static func temporarySessionName(kind: String? = nil) -> String {
        "actqkv-" + (kind.map { $0 + "-" } ?? "") + "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether `name` has the shape of ``temporarySessionName(kind:)``.
    static func isTemporarySessionName(_ name: String) -> Bool {
        var parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.first == "actqkv" else { return false }
        parts.removeFirst()
        if parts.first == "standby" { parts.removeFirst() }
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// Drops the temporary sessions (runs', standbys') of processes that were killed before they
    /// could: every session of that shape that no connection holds open — a live process holds
    /// its own, and kvd refuses to drop those (`sessionBusy`). Returns the names dropped.
    public static func dropAbandonedSessions(client: KVClient) async throws(LongContextError) -> [String] {
        let sessions: [SessionInfo]
        do { sessions = try await client.allSessions() } catch { throw .daemon(operation: "listSessions", error) }
        var dropped: [String] = []
        for s in sessions where isTemporarySessionName(s.name) {
            do {
                try await client.dropSession(s.name)
                dropped.append(s.name)
            } catch where error.code == .sessionBusy || error.code == .sessionNotFound {
                continue
            } catch {
                throw .daemon(operation: "dropSession \(s.name)", error)
            }
        }
        return dropped
    }
}

import ActQKV
import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import LanguageModelTesting
import Testing
@testable import LanguageModel
@testable import Worker

/// The prompt cache (docs/SERVER.md §"The prompt cache is kvd") against the real kvd and model.
@Suite struct PromptCacheTests {
    @Test("points: message ends, fixed points not near one, and the prompt but its last token unless a point is just before it")
    func points() {
        // Message ends at 100 and 990 (within 64 of 999: no separate point at 999); the fixed 128 is
        // near the end at 100, 500 is kept; out-of-prompt positions dropped.
        #expect(PromptCache.points(messageEnds: [100, 990, 0, 2000], fixed: [128, 500, 1200], promptCount: 1000) == [100, 500, 990])
        #expect(PromptCache.points(messageEnds: [100], fixed: [], promptCount: 1000) == [100, 999])
        #expect(PromptCache.points(messageEnds: [], fixed: [960], promptCount: 1000) == [960])
        #expect(PromptCache.points(messageEnds: [], promptCount: 1) == [])
        #expect(PromptCache.points(messageEnds: [5], promptCount: 2) == [1])
        // A grown chat keeps the points below its new messages.
        let turn1 = PromptCache.points(messageEnds: [300, 1500], fixed: [1024], promptCount: 1510)
        let turn2 = PromptCache.points(messageEnds: [300, 1500, 1600, 2500], fixed: [1024, 2048], promptCount: 2600)
        #expect(turn1 == [300, 1024, 1500])
        #expect(Array(turn2.prefix(3)) == turn1)
    }

    @Test("standby plan: points within a chunk after the last one stored are deferred to the background; the question point")
    func standbyPlan() {
        typealias Plan = PromptStandbys.Plan
        // A chat from its stored document (3180): the user message's end and the prompt but its last token are near.
        var p = Plan(points: [3180, 3200], start: 3180, promptCount: 3204, chunk: 256)
        #expect(p.lastStored == 3180 && p.deferred == [3200] && p.questionPoint == 3180)
        // Cold: the document is stored by the run (nothing before it), the user message's end deferred.
        p = Plan(points: [3180, 3200], start: 0, promptCount: 3204, chunk: 256)
        #expect(p.lastStored == 3180 && p.deferred == [3200] && p.questionPoint == 3180)
        // A point past the chunk is stored by the run, and so is every point before it.
        p = Plan(points: [1000, 1050, 1300, 1310], start: 1000, promptCount: 1320, chunk: 128)
        #expect(p.lastStored == 1300 && p.deferred == [1310] && p.questionPoint == 1300)
        // The run stores the prompt but its last token itself: the question point is the one before.
        p = Plan(points: [1000, 1199], start: 0, promptCount: 1200, chunk: 128)
        #expect(p.lastStored == 1199 && p.deferred == [] && p.questionPoint == 1000)
        // Nothing stored to start from: no targets.
        p = Plan(points: [], start: 0, promptCount: 50, chunk: 128)
        #expect(p.lastStored == 0 && p.questionPoint == nil)
    }

    @Test("session names depend on the tokens, the settings and the model; the same inputs name the same session")
    func names() throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let a = PromptCache(model: model, settings: LongContextSettings(method: .actqkv), fingerprint: 1)
        let tokens: [Int32] = [1, 2, 3, 4]
        #expect(a.sessionName(prefix: tokens[...]) == a.sessionName(prefix: tokens[...]))
        #expect(a.sessionName(prefix: tokens[...]).hasPrefix(PromptCache.namePrefix))
        #expect(a.sessionName(prefix: tokens[0..<3]) != a.sessionName(prefix: tokens[...]))
        #expect(a.sessionName(prefix: [1, 2, 3, 5][...]) != a.sessionName(prefix: tokens[...]))
        let otherMethod = PromptCache(model: model, settings: LongContextSettings(method: .infllm), fingerprint: 1)
        let otherModel = PromptCache(model: model, settings: LongContextSettings(method: .actqkv), fingerprint: 2)
        #expect(otherMethod.sessionName(prefix: tokens[...]) != a.sessionName(prefix: tokens[...]))
        #expect(otherModel.sessionName(prefix: tokens[...]) != a.sessionName(prefix: tokens[...]))
    }

    @Test("temporary session names: this process's are recognised, no other name is")
    func temporarySessionNames() {
        #expect(LongContextRunner.isTemporarySessionName(LongContextRunner.temporarySessionName()))
        #expect(LongContextRunner.isTemporarySessionName(LongContextRunner.temporarySessionName(kind: "standby")))
        for name in ["prompt~0123", "actqkv-12", "actqkv-12-x", "actqkv-standby-1-2-3", "doc~actqkv-1-2", "actqkv--1", "actqkv-other-1-2"] {
            #expect(!LongContextRunner.isTemporarySessionName(name), "\(name)")
        }
    }

    @Test("a prompt that shares a stored point computes only the rest and generates exactly what a run from the start generates; no temporary session stays behind")
    func reuseIsExact() async throws {
        let r = try PromptRuns()
        let (shared, first, second, cache) = (r.shared, r.first, r.second, r.cache)
        let kvd = try await InProcessDaemon { $0.retrievalTokens = 8 * 32 }
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        let a = try await r.run(first, client: client)
        #expect(a.counters.reusedTokens == 0)
        let b = try await r.run(second, client: client)
        #expect(b.counters.reusedTokens == shared)
        // The stored points: the shared prefix and each prompt but its last token; nothing else.
        let names = Set(try await client.listSessions().sessions.map(\.name))
        #expect(names == [cache.sessionName(prefix: first[0..<shared]), cache.sessionName(prefix: first[0..<(first.count - 1)]),
                          cache.sessionName(prefix: second[0..<(second.count - 1)])])

        // The same second prompt on a fresh kvd, computed from the start.
        let fresh = try await InProcessDaemon { $0.retrievalTokens = 8 * 32 }
        defer { Task { try? await fresh.stop() } }
        let c = try await r.run(second, client: try await fresh.connect())
        #expect(c.counters.reusedTokens == 0)
        #expect(b.counters.computedTokens == c.counters.computedTokens - shared)
        #expect(c.generated == b.generated, "from the stored point \(b.generated), from the start \(c.generated)")
        // A repeated prompt computes only its last token.
        let again = try await r.run(second, client: client)
        #expect(again.counters.reusedTokens == second.count - 1)
        #expect(again.generated == b.generated)
    }

    @Test("a session resumed from a stored point, its block caches started with those of the run that stored it, computes the same logits and fetches fewer payloads")
    func warmBlockCaches() async throws {
        let r = try PromptRuns()
        let (shared, first, second, cache) = (r.shared, r.first, r.second, r.cache)
        let kvd = try await InProcessDaemon { $0.retrievalTokens = 8 * 32 }
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        let descriptor = LongContextSession.descriptor(model: r.model, settings: r.settings, fingerprint: 0xCAFE)
        _ = try await client.createSession("run", descriptor: descriptor)
        let run = try LongContextSession(model: r.model, settings: r.settings, fingerprint: 0xCAFE, client: client, sessionName: "run")
        try await run.process(first[0..<shared], mode: .prefill, logits: false)
        try await LongContextRunner.storeCachePoint(run, cache: cache, client: client)
        try await run.process(first[shared...], mode: .prefill, logits: false)
        let warm = run.blockCaches
        #expect(warm.caches.allSatisfy { $0.count > 0 })

        func resumed(_ name: String, warm: LongContextSession.BlockCaches?) async throws -> (logits: [Float], fetched: Int) {
            _ = try await client.forkSession(from: cache.sessionName(prefix: first[0..<shared]), to: name, copyCheckpoint: true)
            let session = try await LongContextSession.resume(model: r.model, settings: r.settings, fingerprint: 0xCAFE, client: client,
                                                              sessionName: name).session
            if let warm { session.adoptBlockCaches(warm) }
            let logits = try await session.process(second[shared...], mode: .prefill, logits: true)
            return (logits, session.counters.blocksFetched)
        }
        let cold = try await resumed("cold", warm: nil)
        let warmed = try await resumed("warm", warm: warm)
        #expect(warmed.logits == cold.logits)
        #expect(warmed.fetched < cold.fetched, "fetched \(warmed.fetched) blocks warm, \(cold.fetched) cold")
    }

    @Test("standbys: the next request over the same prompt continues in a session prepared after the last one (a repeat computes nothing before its first token), generates the same tokens, and closing drops every standby")
    func standbys() async throws {
        let r = try PromptRuns()
        let (ids, shared, first, second, cache) = (r.ids, r.shared, r.first, r.second, r.cache)
        let standbys = PromptStandbys(capacity: 2)
        func waitReady(_ count: Int) async {
            await standbys.settle()
            #expect(standbys.readyCount == count)
        }
        let kvd = try await InProcessDaemon { $0.retrievalTokens = 8 * 32 }
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        let a = try await r.run(first, client: client, standbys: standbys)
        #expect(a.counters.reusedTokens == 0)
        await waitReady(2)  // the shared prefix and the whole first prompt
        // The second prompt starts from the standby of the shared prefix: same tokens as from kvd.
        let b = try await r.run(second, client: client, standbys: standbys)
        #expect(b.counters.reusedTokens == shared)
        #expect(b.sessionName?.hasPrefix("actqkv-standby-") == true, "ran in \(b.sessionName ?? "nil")")
        await waitReady(2)  // capacity 2: the shared prefix again and the second prompt's last point
        let c = try await r.run(second, client: client, standbys: nil)
        #expect(c.counters.reusedTokens == second.count - 1)
        // A repeat computes nothing: its first token comes from the logits the standby kept.
        let d = try await r.run(second, client: client, standbys: standbys)
        #expect(d.counters.reusedTokens == second.count, "\(d.counters)")
        #expect(d.sessionName?.hasPrefix("actqkv-standby-") == true)
        #expect(d.counters.computedTokens == c.counters.computedTokens - 1, "only the decoded tokens: \(d.counters)")
        #expect(b.generated == c.generated && d.generated == c.generated, "standby \(b.generated) / \(d.generated), kvd \(c.generated)")
        // A prompt ending 40 tokens after its only point: the standby for a repeat is advanced past
        // the point to the prompt's end (its tokens processed in the background), and answers as a
        // run from kvd does.
        let short = Array(ids[0..<shared]) + Array(ids[1100..<1140])
        _ = try await r.run(short, client: client, standbys: standbys)
        await standbys.settle()
        let e = try await r.run(short, client: client, standbys: standbys)
        #expect(e.counters.reusedTokens == short.count, "\(e.counters)")
        let f = try await r.run(short, client: client, standbys: nil)
        #expect(f.counters.reusedTokens == shared)
        #expect(e.counters.computedTokens == f.counters.computedTokens - (short.count - shared), "the prompt's tokens are not computed again")
        #expect(e.generated == f.generated, "advanced standby \(e.generated), kvd \(f.generated)")
        // Points within one chunk after the stored prefix (a message end at 1050 and the prompt but
        // its last token) are stored by the background preparation, not on the way to the first token.
        let turn = Array(ids[0..<shared]) + Array(ids[1250..<1370])
        func runTurn(_ standbys: PromptStandbys?) async throws -> LongContextSummary {
            try await r.run(turn, client: client, messageEnds: [shared, shared + 50], standbys: standbys)
        }
        let g = try await runTurn(standbys)
        #expect(g.counters.reusedTokens == shared)
        await standbys.settle()
        let names = Set(try await client.listSessions().sessions.map(\.name))
        #expect(names.contains(cache.sessionName(prefix: turn[0..<(shared + 50)])) && names.contains(cache.sessionName(prefix: turn[0..<(turn.count - 1)])))
        let h = try await runTurn(nil)
        #expect(h.counters.reusedTokens == turn.count - 1)
        #expect(h.generated == g.generated, "from the point stored in the background \(h.generated), computed \(g.generated)")
        await standbys.close()
        #expect(standbys.readyCount == 0)
        let left = try await client.listSessions().sessions.map(\.name)
        #expect(left.allSatisfy { $0.hasPrefix(PromptCache.namePrefix) }, "left behind: \(left)")
    }
}

/// The prompt-cache runs of these tests: the real model, small retrieval settings, and two prompts
/// that share their first 1000 tokens (a point not on a chunk boundary), then differ.
private struct PromptRuns {
    let model: DecoderModel
    let settings: LongContextSettings
    let ids: [Int32]
    let shared = 1000
    let first: [Int32], second: [Int32]
    let cache: PromptCache

    init() throws {
        model = try ModelTestSupport.loadRealModel(activations: .float32)
        ids = try LongContextTestSupport.longPromptIDs()
        let config = RetrievalConfig(sinkTokens: 32, localWindow: 256, chunkTokens: 128, blockSize: 32, topK: 8,
                                     minBlocks: 4, maxBlocks: 16, blockCacheCapacity: 128)
        settings = LongContextSettings(method: .actqkv, retrieval: config)
        first = Array(ids[0..<1200])
        second = Array(ids[0..<shared]) + Array(ids[1200..<1391])
        cache = PromptCache(model: model, settings: settings, fingerprint: 0xCAFE)
    }

    /// `prompt` through the runner with the prompt cache (message ends: `messageEnds`, default the shared prefix's end).
    func run(_ prompt: [Int32], client: KVClient, messageEnds: [Int]? = nil, standbys: PromptStandbys? = nil) async throws -> LongContextSummary {
        let request = LongContextRequest(layout: PromptLayout(tokens: prompt, questionSpan: nil, sharedPrefixCount: 0), maxTokens: 6,
                                         cachePoints: CachePoints(messageEnds: messageEnds ?? [shared]), standbys: standbys)
        return try await LongContextRunner.run(model: model, settings: settings, fingerprint: 0xCAFE, client: client, request: request) { _ in true }
    }
}

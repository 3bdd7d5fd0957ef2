import ActQKV
import CoreTypes
import DaemonTestSupport
import Foundation
import KVClient
import LanguageModelTesting
import Protocol
import Testing
@testable import LanguageModel
@testable import Worker

/// The long-context path (model layers + ActQKV block memory + a real in-process kvd) against
/// exact references on the 1391-token fixture prompt.
@Suite(.serialized)
struct LongContextSessionTests {
    /// A small window so that the fixture prompt closes many blocks: S 32, W 256, E 128, b 32,
    /// K 64 ≥ every block count here (all blocks recalled), C 128.
    static let smallConfig = RetrievalConfig(sinkTokens: 32, localWindow: 256, chunkTokens: 128, blockSize: 32, topK: 64,
                                             minBlocks: 32, maxBlocks: 128, blockCacheCapacity: 128)

    /// Runs the session path and returns the logits after the prompt and after each decode token.
    static func sessionLogits(model: DecoderModel, kvd: InProcessDaemon, settings: LongContextSettings, prompt: [Int32],
                              decode: [Int32], name: String) async throws -> (logits: [[Float]], session: LongContextSession, info: SessionInfo) {
        let client = try await kvd.connect()
        let descriptor = LongContextSession.descriptor(model: model, settings: settings, fingerprint: 0xF00D)
        _ = try await client.createSession(name, descriptor: descriptor)
        let session = try LongContextSession(model: model, settings: settings, fingerprint: 0xF00D, client: client, sessionName: name)
        let n = prompt.count
        try await session.process(prompt[0..<(n - 1)], mode: .prefill, logits: false)
        var out = [try await session.process(prompt[(n - 1)...], mode: .prefill, logits: true)]
        for t in decode { out.append(try await session.process([t][...], mode: .decode, logits: true)) }
        try await session.drain()
        let info = try await client.openSession(name)
        return (out, session, info)
    }

    @Test("every block recalled: infllm and actqkv logits equal clamped-RoPE dense attention over fp16-rounded block K/V (Float64) within 1e-4")
    func allBlocksRecalledEqualsClampedDense() async throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let prompt = try LongContextTestSupport.longPromptIDs()
        #expect(prompt.count == 1391)
        let config = Self.smallConfig
        // The Float64 reference, with the worker's chunk schedule; decode two greedy tokens.
        let reference = ClampedDenseReference(config: model.config, retrieval: config)
        let first = try LongContextTestSupport.scheduledForward(model: model, prompt: prompt, chunk: config.chunkTokens, decode: [], backend: reference)[0]
        let t1 = Sampler.argmax(first)
        let ref2 = ClampedDenseReference(config: model.config, retrieval: config)
        let refLogits = try LongContextTestSupport.scheduledForward(model: model, prompt: prompt, chunk: config.chunkTokens, decode: [t1, 13], backend: ref2)
        // The same prompt twice through the reference: the same logits, bit for bit, even while
        // other tests force the portable kernels on their own threads (the level is per thread).
        #expect(refLogits[0] == first)

        // Not vacuous: the clamped, fp16 reference differs measurably from true dense attention.
        let trueDense = try model.forward(tokens: prompt, attention: model.makeDenseCache(capacity: prompt.count + 4), logits: .last)
        let clampEffect = LongContextTestSupport.relativeError(refLogits[0], reference: trueDense)
        #expect(clampEffect > 1e-3, "clamping the RoPE distance should change the logits (relative change \(clampEffect))")

        let kvd = try await InProcessDaemon { $0.retrievalTokens = 4096 * 32 }
        defer { Task { try? await kvd.stop() } }
        let expectedBlocks = (prompt.count + 2 - 1 - config.sinkTokens - config.localWindow) / config.blockSize
        for method in [RetrievalMethod.infllm, RetrievalMethod.actqkv] {
            let settings = LongContextSettings(method: method, retrieval: config)
            let (logits, session, info) = try await Self.sessionLogits(model: model, kvd: kvd, settings: settings, prompt: prompt,
                                                                       decode: [t1, 13], name: "equiv-\(method)")
            for (i, l) in logits.enumerated() {
                let error = LongContextTestSupport.relativeError(l, reference: refLogits[i])
                #expect(error < 1e-4, "\(method), logits \(i): relative error \(error)")
            }
            // Blocks really went through kvd: every layer stored them, and payloads were fetched.
            #expect(session.closedBlocks >= expectedBlocks - 1 && session.closedBlocks >= 30)
            #expect(info.blockCounts.allSatisfy { Int($0) == session.closedBlocks })
            #expect(session.counters.blocksAcknowledged == session.closedBlocks * model.config.layerCount)
            #expect(session.counters.bytesFetched >= session.closedBlocks * model.config.layerCount * 2 * model.config.kvWidth * config.blockSize * 2)
            #expect(session.counters.cacheHits > 0, "the block cache should serve blocks recalled again")
            #expect(session.counters.retrieveRequests == model.config.layerCount * Int(session.chunkSequence))
        }
    }

    @Test("window ≥ sequence: the block-memory path equals the true dense forward pass within 1e-4")
    func windowCoveringTheSequenceEqualsDense() async throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let prompt = try LongContextTestSupport.longPromptIDs()
        let config = RetrievalConfig(localWindow: 2048, chunkTokens: 256)
        let dense = try LongContextTestSupport.scheduledForward(model: model, prompt: prompt, chunk: 256, decode: [13],
                                                                backend: model.makeDenseCache(capacity: prompt.count + 4))
        let kvd = try await InProcessDaemon()
        defer { Task { try? await kvd.stop() } }
        let (logits, session, _) = try await Self.sessionLogits(model: model, kvd: kvd, settings: LongContextSettings(method: .infllm, retrieval: config),
                                                                prompt: prompt, decode: [13], name: "wide")
        #expect(session.closedBlocks == 0)
        for i in logits.indices {
            let error = LongContextTestSupport.relativeError(logits[i], reference: dense[i])
            #expect(error < 1e-4, "logits \(i): relative error \(error)")
        }
    }

    @Test("retrieve trace: one per layer and chunk on the worker's schedule; the question term only after the span, in prefill (docs/ACTQKV.md §\"Question term\")")
    func retrieveTraceAndQuestionTerm() async throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let prompt = try LongContextTestSupport.longPromptIDs()
        // K = 8 of ≥ 30 blocks: a partial selection, so the chosen lists carry information.
        let config = RetrievalConfig(sinkTokens: 32, localWindow: 256, chunkTokens: 128, blockSize: 32, topK: 8,
                                     minBlocks: 4, maxBlocks: 16, blockCacheCapacity: 128)
        let n = prompt.count
        let span = (n - 40)..<(n - 20)  // in the last chunk before the last token, ending before it
        let layout = PromptLayout(tokens: prompt, questionSpan: span, sharedPrefixCount: span.lowerBound)
        let kvd = try await InProcessDaemon { $0.retrievalTokens = 8 * 32 }
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        final class Traces: @unchecked Sendable {
            let lock = NSLock()
            var items: [RetrieveTrace] = []
            func add(_ t: RetrieveTrace) { lock.lock(); items.append(t); lock.unlock() }
        }
        let traces = Traces()
        var request = LongContextRequest(layout: layout, maxTokens: 3)
        request.onRetrieve = { traces.add($0) }
        let summary = try await LongContextRunner.run(model: model, settings: LongContextSettings(method: .actqkv, retrieval: config),
                                                      fingerprint: 0xF00D, client: client, request: request) { _ in true }
        let layers = model.config.layerCount
        let items = traces.items
        #expect(items.count == summary.counters.retrieveRequests)
        #expect(items.count == layers * ((n - 1 + config.chunkTokens - 1) / config.chunkTokens + 1 + summary.generated.count - 1))
        // Chunks: multiples of E up to the last prompt token, then the last token, then one per decode step.
        var expectedStarts = Array(stride(from: 0, to: n - 1, by: config.chunkTokens)) + [n - 1]
        expectedStarts += (0..<(summary.generated.count - 1)).map { n + $0 }
        let starts = stride(from: 0, to: items.count, by: layers).map { items[$0].start }
        #expect(starts == expectedStarts)
        for (i, t) in items.enumerated() {
            #expect(t.layer == i % layers)
            #expect(t.chosen.count == min(t.k, t.totalBlocks) && Set(t.chosen).count == t.chosen.count)
            #expect(t.chosen.allSatisfy { (0..<t.totalBlocks).contains($0) })
            // The question vector exists once its span was processed: from the chunk after the span's last one.
            let afterSpan = t.start >= span.upperBound
            #expect(t.questionTerm == (afterSpan && t.mode == .prefill), "chunk at \(t.start), layer \(t.layer), mode \(t.mode)")
        }
        #expect(items.contains { $0.questionTerm } && items.contains { $0.mode == .decode })
        #expect(items.contains { $0.totalBlocks > $0.k }, "the selection should be partial")
    }

    @Test("budget growth: kvd grants more blocks than the worker's block cache was sized for, and the cache grows to hold them")
    func budgetGrowthGrowsTheBlockCache() async throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let prompt = Array(try LongContextTestSupport.longPromptIDs().prefix(1200))
        // K 8, C 16 = K_max; with g = 1 a layer of N blocks gets all N (≈ 28 here), more than C.
        let config = RetrievalConfig(sinkTokens: 32, localWindow: 256, chunkTokens: 128, blockSize: 32, topK: 8,
                                     minBlocks: 4, maxBlocks: 16, blockCacheCapacity: 16)
        let kvd = try await InProcessDaemon { $0.retrievalTokens = 8 * 32; $0.budgetGrowth = 1 }
        defer { Task { try? await kvd.stop() } }
        let client = try await kvd.connect()
        final class Largest: @unchecked Sendable {
            let lock = NSLock()
            var k = 0, total = 0
            func add(_ t: RetrieveTrace) { lock.lock(); if t.k > k { k = t.k; total = t.totalBlocks }; lock.unlock() }
        }
        let largest = Largest()
        var request = LongContextRequest(layout: PromptLayout(tokens: prompt, questionSpan: nil, sharedPrefixCount: 0), maxTokens: 3)
        request.onRetrieve = { largest.add($0) }
        let summary = try await LongContextRunner.run(model: model, settings: LongContextSettings(method: .infllm, retrieval: config, budgetGrowth: 1),
                                                      fingerprint: 0xF00D, client: client, request: request) { _ in true }
        #expect(summary.generated.count == 3)
        #expect(largest.k > config.blockCacheCapacity && largest.k == largest.total, "k \(largest.k) of \(largest.total) blocks")
    }
}

import ActQKV
import CoreTypes
import DaemonTestSupport
import Foundation
import LanguageModelTesting
import Testing
@testable import LanguageModel
@testable import Worker

/// Wraps a backend and keeps, in Float64, every value row and the output row of one query
/// position per layer, so that recorded attention probabilities can be checked against the
/// attention output the model really used.
private final class ValueRecorder<Inner: AttentionBackend>: AttentionBackend {
    let inner: Inner
    let target: Int
    let config: ModelConfig
    var values: [[Double]]
    var outputs: [[Double]]

    init(_ inner: Inner, target: Int, config: ModelConfig) {
        self.inner = inner; self.target = target; self.config = config
        values = Array(repeating: [], count: config.layerCount)
        outputs = Array(repeating: [], count: config.layerCount)
    }

    var position: Int { inner.position }
    func advance(by tokenCount: Int) { inner.advance(by: tokenCount) }

    func attend(layer: Int, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values v: UnsafePointer<Float>,
                tokenCount n: Int, output: UnsafeMutablePointer<Float>) throws(ModelError) {
        let p0 = inner.position
        values[layer].append(contentsOf: UnsafeBufferPointer(start: v, count: n * config.kvWidth).map(Double.init))
        try inner.attend(layer: layer, queries: queries, keys: keys, values: v, tokenCount: n, output: output)
        if (p0..<(p0 + n)).contains(target) {
            let width = config.headCount * config.headDimension
            outputs[layer] = UnsafeBufferPointer(start: output + (target - p0) * width, count: width).map(Double.init)
        }
    }
}

/// Attention recall (`actqkv eval`): the dense attention mass recorded by `DenseAttentionMass`
/// and the share of it that the tokens a block method attended keep.
@Suite(.serialized)
struct AttendedTokensTests {
    @Test("DenseAttentionMass: per-head probabilities sum to 1 and Σ p·v reproduces the dense attention output (Float64, 1e-4)")
    func recordedProbabilitiesReproduceDenseOutput() throws {
        let model = try ModelTestSupport.loadRealModel()
        let prompt = Array(try LongContextTestSupport.longPromptIDs().prefix(600))
        let target = prompt.count - 1
        let mass = DenseAttentionMass(model: model, capacity: prompt.count, target: target)
        let recorder = ValueRecorder(mass, target: target, config: model.config)
        // Two chunks, so the target's keys come from both.
        _ = try model.forward(tokens: Array(prompt[0..<256]), attention: recorder, logits: .none)
        let logits = try model.forward(tokens: Array(prompt[256...]), attention: recorder, logits: .last)
        // The recording backend does not change the computation.
        let plain = try model.forward(tokens: prompt, attention: model.makeDenseCache(capacity: prompt.count), logits: .last)
        #expect(LongContextTestSupport.relativeError(logits, reference: plain) < 1e-5)

        let c = model.config
        let d = c.headDimension, kw = c.kvWidth
        #expect(mass.probabilities.count == c.layerCount)
        for layer in 0..<c.layerCount {
            let heads = mass.probabilities[layer]
            try #require(heads.count == c.headCount)
            var recomputed = [Double](repeating: 0, count: c.headCount * d)
            for (head, probs) in heads.enumerated() {
                #expect(probs.count == target + 1)
                #expect(abs(probs.reduce(0, +) - 1) < 1e-9)
                let g = head / c.groupSize
                for (t, p) in probs.enumerated() {
                    for j in 0..<d { recomputed[head * d + j] += p * recorder.values[layer][t * kw + g * d + j] }
                }
            }
            var num = 0.0, den = 0.0
            for i in recomputed.indices {
                num = max(num, abs(recomputed[i] - recorder.outputs[layer][i])); den = max(den, abs(recorder.outputs[layer][i]))
            }
            #expect(den > 0)
            #expect(num / den < 1e-4, "layer \(layer): Σ p·v differs from the dense output by \(num / den)")
        }
    }

    @Test("AttendedTokens.contains: sink, recalled blocks and the tail from recentStart; nothing else")
    func containsFollowsTheLayout() {
        let a = AttendedTokens(sinkCount: 4, blockSize: 8, closedBlocks: 3, recentStart: 28, recalled: [[1], []])
        let layer0 = (0..<40).filter { a.contains($0, layer: 0) }
        #expect(layer0 == Array(0..<4) + Array(12..<20) + Array(28..<40))
        let layer1 = (0..<40).filter { a.contains($0, layer: 1) }
        #expect(layer1 == Array(0..<4) + Array(28..<40))
    }

    /// Runs the session over `prompt` (no decode) and returns what the last prompt token attended.
    private static func finalAttended(model: DecoderModel, kvd: InProcessDaemon, method: RetrievalMethod, config: RetrievalConfig,
                                      prompt: [Int32], name: String) async throws -> (AttendedTokens, LongContextSession) {
        let settings = LongContextSettings(method: method, retrieval: config)
        let (_, session, _) = try await LongContextSessionTests.sessionLogits(model: model, kvd: kvd, settings: settings, prompt: prompt,
                                                                             decode: [], name: name)
        return (try #require(session.lastAttended), session)
    }

    @Test("attention recall: every block recalled gives 1; a 4-block budget on 1.4K tokens gives less than 1 but more than sink + window alone")
    func recallOfFullAndTinyBudgets() async throws {
        let model = try ModelTestSupport.loadRealModel()
        let prompt = try LongContextTestSupport.longPromptIDs()
        let mass = DenseAttentionMass(model: model, capacity: prompt.count, target: prompt.count - 1)
        _ = try model.forward(tokens: prompt, attention: mass, logits: .none)
        let config = LongContextSessionTests.smallConfig

        // All blocks recalled (K ≥ every block count).
        let full = try await InProcessDaemon { $0.retrievalTokens = 4096 * 32 }
        for method in [RetrievalMethod.infllm, .actqkv] {
            let (attended, session) = try await Self.finalAttended(model: model, kvd: full, method: method, config: config, prompt: prompt,
                                                                   name: "recall-full-\(method)")
            #expect(attended.closedBlocks >= 30)
            #expect(attended.closedBlocks <= session.closedBlocks)
            for layer in 0..<model.config.layerCount {
                #expect(Set(attended.recalled[layer]) == Set(0..<attended.closedBlocks), "\(method) layer \(layer)")
            }
            let recall = mass.recall(of: attended)
            #expect(abs(recall - 1) < 1e-9, "\(method): recall \(recall)")
        }
        try? await full.stop()

        // Four blocks per layer, a fixed budget (no growth with the layer's size).
        var tinyConfig = config
        tinyConfig.topK = 4
        tinyConfig.minBlocks = 4
        tinyConfig.maxBlocks = 4
        let tiny = try await InProcessDaemon { $0.retrievalTokens = 4 * 32; $0.budgetGrowth = 0 }
        let (attended, _) = try await Self.finalAttended(model: model, kvd: tiny, method: .infllm, config: tinyConfig, prompt: prompt,
                                                         name: "recall-tiny")
        try? await tiny.stop()
        #expect(attended.recalled.allSatisfy { $0.count == 4 })
        var nothingRecalled = attended
        nothingRecalled.recalled = Array(repeating: [], count: model.config.layerCount)
        let recall = mass.recall(of: attended), baseline = mass.recall(of: nothingRecalled)
        #expect(recall < 1 - 1e-3, "4 of \(attended.closedBlocks) blocks cannot keep all the mass (recall \(recall))")
        #expect(recall > baseline, "recalled blocks add mass: \(recall) vs sink + window alone \(baseline)")
        #expect(baseline > 0.3, "sink and window carry a good share of the mass (\(baseline))")
    }
}

import CoreTypes
import Testing
@testable import ActQKV

/// Head layouts exercised: H = H_kv, GQA with G = 3 and G = 4.
let headLayouts: [(Int, Int)] = [(4, 4), (6, 2), (8, 2)]

/// A small configuration whose pool recalls every block (K ≥ N).
func smallConfig(window: Int = 16, topK: Int = 64) -> RetrievalConfig {
    RetrievalConfig(sinkTokens: 4, localWindow: window, chunkTokens: 8, blockSize: 4, topK: topK, representativeTokens: 2,
                    minBlocks: 1, maxBlocks: topK, historyLength: 4, statisticsWarmup: 2, statisticsHorizon: 10,
                    blockCacheCapacity: topK)
}

/// Runs `tokens` random tokens through one layer in chunks (last one shorter) and returns the
/// concatenated outputs with the inputs.
func runLayer(method: RetrievalMethod, shape: AttentionShape, config: RetrievalConfig, rope: RotaryEmbedding,
              tokens: Int, chunk: Int, seed: UInt64) throws -> (out: [Float], q: [Float], k: [Float], v: [Float], session: InProcessSession) {
    var rng = SeededRandom(seed: seed)
    let q = rng.floats(tokens * shape.queryWidth), k = rng.floats(tokens * shape.kvWidth), v = rng.floats(tokens * shape.kvWidth)
    var session = try InProcessSession(config: config, layers: 1, shape: shape, method: method, rope: rope)
    var out: [Float] = []
    var start = 0, index: UInt64 = 0
    while start < tokens {
        let c = min(chunk, tokens - start)
        let o = try session.run(chunk: index, mode: .prefill,
                                q: [Array(q[(start * shape.queryWidth)..<((start + c) * shape.queryWidth)])],
                                k: [Array(k[(start * shape.kvWidth)..<((start + c) * shape.kvWidth)])],
                                v: [Array(v[(start * shape.kvWidth)..<((start + c) * shape.kvWidth)])], count: c)
        out += o[0]
        start += c; index += 1
    }
    return (out, q, k, v, session)
}

@Suite("LayerMemory: joint attention equals dense attention where it must")
struct LayerMemoryEquivalenceTests {
    @Test("all blocks recalled: output = causal attention with RoPE distance clamped at W−1",
          arguments: [RetrievalMethod.infllm, .actqkv], headLayouts)
    func allBlocksRecalledEqualsClampedDense(method: RetrievalMethod, layout: (Int, Int)) throws {
        for convention in [RoPEConvention.neox, .interleaved] {
            let shape = try AttentionShape(heads: layout.0, kvHeads: layout.1, headDim: 16)
            let config = smallConfig()
            let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: convention)
            let tokens = 83
            let r = try runLayer(method: method, shape: shape, config: config, rope: rope, tokens: tokens, chunk: 8, seed: 7)
            // Blocks must really have formed and all been recalled.
            #expect(r.session.memories[0].closedBlocks >= 10)
            for sel in r.session.selections.map({ $0[0] }) { #expect(sel.k == sel.chosen.count) }
            let w = config.localWindow
            let ref = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: tokens, shape: shape, base: 10_000,
                                         convention: convention, distance: { p, t in min(p - t, w - 1) })
            let err = relativeError(r.out, ref)
            #expect(err < 1e-5, "relative error \(err) for \(method) \(layout) \(convention)")
            // The statement is not vacuous: true-position dense attention differs measurably.
            let unclamped = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: tokens, shape: shape, base: 10_000,
                                               convention: convention, distance: { p, t in p - t })
            #expect(relativeError(r.out, unclamped) > 1e-3)
        }
    }

    @Test("all blocks recalled, no RoPE: output = plain dense causal attention", arguments: [RetrievalMethod.infllm, .actqkv], headLayouts)
    func allBlocksRecalledNoRoPEEqualsDense(method: RetrievalMethod, layout: (Int, Int)) throws {
        let shape = try AttentionShape(heads: layout.0, kvHeads: layout.1, headDim: 16)
        let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: .none)
        let r = try runLayer(method: method, shape: shape, config: smallConfig(), rope: rope, tokens: 83, chunk: 8, seed: 11)
        let ref = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: 83, shape: shape, base: 10_000, convention: .none, distance: { _, _ in 0 })
        #expect(relativeError(r.out, ref) < 1e-5)
    }

    @Test("sequence shorter than the window: output = dense causal attention with true positions",
          arguments: [RetrievalMethod.infllm, .actqkv, .dense], headLayouts)
    func shortSequenceEqualsDense(method: RetrievalMethod, layout: (Int, Int)) throws {
        for convention in [RoPEConvention.neox, .interleaved] {
            let shape = try AttentionShape(heads: layout.0, kvHeads: layout.1, headDim: 16)
            let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: convention)
            let r = try runLayer(method: method, shape: shape, config: smallConfig(window: 64), rope: rope, tokens: 60, chunk: 8, seed: 3)
            #expect(r.session.memories[0].closedBlocks == 0)
            let ref = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: 60, shape: shape, base: 10_000,
                                         convention: convention, distance: { p, t in p - t })
            #expect(relativeError(r.out, ref) < 1e-5)
        }
    }

    @Test("dense method: full causal attention at true positions over a long sequence", arguments: headLayouts)
    func denseMethodEqualsDense(layout: (Int, Int)) throws {
        let shape = try AttentionShape(heads: layout.0, kvHeads: layout.1, headDim: 16)
        let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: .interleaved, tablePositions: 32)
        let r = try runLayer(method: .dense, shape: shape, config: smallConfig(), rope: rope, tokens: 83, chunk: 8, seed: 5)
        let ref = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: 83, shape: shape, base: 10_000, convention: .interleaved, distance: { p, t in p - t })
        #expect(relativeError(r.out, ref) < 1e-5)
        #expect(r.session.memories[0].recentRange == 0..<83)
    }

    @Test("attention kernel agrees with Float64 within 1e-6 (window covers everything)")
    func attentionKernelPrecision() throws {
        let shape = try AttentionShape(heads: 6, kvHeads: 2, headDim: 64)
        let rope = RotaryEmbedding(headDim: 64, base: 100_000, convention: .interleaved)
        let r = try runLayer(method: .dense, shape: shape, config: smallConfig(window: 256), rope: rope, tokens: 96, chunk: 32, seed: 21)
        let ref = referenceAttention(q: r.q, k: r.k, v: r.v, tokens: 96, shape: shape, base: 100_000, convention: .interleaved, distance: { p, t in p - t })
        let err = relativeError(r.out, ref)
        #expect(err < 1e-6, "relative error \(err)")
    }
}

@Suite("LayerMemory: token life cycle")
struct LayerMemoryLifeCycleTests {
    @Test("every past token is in exactly one of sink, closed block, remainder (window included)")
    func partitionInvariant() throws {
        let shape = try AttentionShape(heads: 6, kvHeads: 2, headDim: 8)
        let config = smallConfig()
        var memory = LayerMemory(shape: shape, config: config, method: .actqkv, rope: RotaryEmbedding(headDim: 8, base: 10_000, convention: .neox))
        var rng = SeededRandom(seed: 99)
        var closedIndices: [Int] = []
        var total = 0
        for step in 0..<40 {
            let c = 1 + Int(rng.next() % 9)   // chunks of 1…9 tokens, decode-like and prefill-like
            let q = rng.floats(c * shape.queryWidth), k = rng.floats(c * shape.kvWidth), v = rng.floats(c * shape.kvWidth)
            let closed = try memory.process(queries: q, keys: k, values: v, count: c, recalled: []).closed
            total += c
            closedIndices += closed.map(\.index)
            for b in closed {
                #expect(b.firstPosition == config.sinkTokens + b.index * config.blockSize)
                #expect(b.key.count == shape.queryWidth)
            }
            // The three sets are contiguous, disjoint, and cover 0..<position.
            #expect(memory.position == total)
            #expect(memory.sinkRange.lowerBound == 0)
            #expect(memory.blockRange.lowerBound == memory.sinkRange.upperBound)
            #expect(memory.recentRange.lowerBound == memory.blockRange.upperBound)
            #expect(memory.recentRange.upperBound == total)
            #expect(memory.sinkRange.count + memory.blockRange.count + memory.recentRange.count == total)
            // Blocks only form from tokens with ≥ W later tokens; at most b−1 tokens wait beyond W.
            #expect(memory.sinkCount < config.sinkTokens || memory.recentRange.count - config.localWindow < config.blockSize,
                    "step \(step)")
            if total <= config.localWindow { #expect(memory.recentRange.count == total) }
        }
        #expect(closedIndices == Array(0..<closedIndices.count))
        #expect(memory.sinkCount == config.sinkTokens)
        #expect(closedIndices.count > 10)
    }

    @Test("representative key: per query head, the mean of the r best-scored raw keys of its KV head")
    func representativeKey() throws {
        let shape = try AttentionShape(heads: 4, kvHeads: 2, headDim: 8)
        let config = smallConfig()
        var memory = LayerMemory(shape: shape, config: config, method: .infllm, rope: RotaryEmbedding(headDim: 8, base: 10_000, convention: .neox))
        var rng = SeededRandom(seed: 5)
        // Process token by token, recording the scores of the first block's tokens just before it closes.
        let b = config.blockSize, first = config.sinkTokens
        var snapshot: [[Float]] = []   // [token][head]
        var keys: [Float] = []
        var block: ClosedBlock?
        while block == nil {
            let q = rng.floats(shape.queryWidth), k = rng.floats(shape.kvWidth), v = rng.floats(shape.kvWidth)
            keys += k
            if memory.recentRange.contains(first + b - 1) {
                snapshot = (first..<(first + b)).map { p in (0..<4).map { memory.localScore(position: p, head: $0)! } }
            }
            let closed = try memory.process(queries: q, keys: k, values: v, count: 1, recalled: []).closed
            block = closed.first
        }
        // The last processed token cannot see the block locally (distance ≥ W), so snapshot scores are final.
        let blk = try #require(block)
        #expect(blk.index == 0 && blk.firstPosition == first)
        for head in 0..<4 {
            let g = head / 2
            let scores = snapshot.map { $0[head] }
            #expect(scores.allSatisfy { $0 > 0 })
            let order = (0..<b).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(config.representativeTokens)
            for j in 0..<8 {
                let expected = order.map { Double(keys[((first + $0) * 2 + g) * 8 + j]) }.reduce(0, +) / Double(config.representativeTokens)
                #expect(abs(Double(blk.key[head * 8 + j]) - expected) < 1e-6)
            }
            // Block K/V layout [kvHead][token][d].
            for t in 0..<b { #expect(blk.kv.keys[(g * b + t) * 8] == keys[((first + t) * 2 + g) * 8]) }
        }
    }

    @Test("local scores are joint probabilities: each query's local mass ≤ 1, and = 1 without memory")
    func localScoresAreJointProbabilities() throws {
        let shape = try AttentionShape(heads: 3, kvHeads: 3, headDim: 8)
        var memory = LayerMemory(shape: shape, config: smallConfig(window: 64), method: .actqkv, rope: RotaryEmbedding(headDim: 8, base: 10_000, convention: .neox))
        var rng = SeededRandom(seed: 8)
        let c = 10
        let q = rng.floats(c * shape.queryWidth), k = rng.floats(c * shape.kvWidth), v = rng.floats(c * shape.kvWidth)
        _ = try memory.process(queries: q, keys: k, values: v, count: c, recalled: [])
        for head in 0..<3 {
            // Σ over tokens of accumulated scores = number of queries (each distributes mass 1 locally).
            let total = (0..<c).map { memory.localScore(position: $0, head: head)! }.reduce(0, +)
            #expect(abs(total - Float(c)) < 1e-4)
            // Token 0 is seen by all c queries; the last token only by itself.
            #expect(memory.localScore(position: 0, head: head)! > memory.localScore(position: c - 1, head: head)!)
        }
    }

    @Test("question vector: per head the mean of the r best-scored rotated span queries")
    func questionVector() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, headDim: 4)
        let config = smallConfig(window: 64)
        var memory = LayerMemory(shape: shape, config: config, method: .actqkv, rope: RotaryEmbedding(headDim: 4, base: 10_000, convention: .neox))
        var rng = SeededRandom(seed: 12)
        let c = 12
        let q = rng.floats(c * 8), k = rng.floats(c * 4), v = rng.floats(c * 4)
        _ = try memory.process(queries: q, keys: k, values: v, count: c, recalled: [])
        let span = 3..<9
        let rotated = try Array(q[24..<72]).withUnsafeBufferPointer { try memory.probeQueries($0, count: 6) }
        let u = try rotated.withUnsafeBufferPointer { try memory.questionVector(span: span, rotatedQueries: $0) }
        for head in 0..<2 {
            let scores = span.map { memory.localScore(position: $0, head: head)! }
            let best = (0..<6).sorted { scores[$0] > scores[$1] }.prefix(2)
            for j in 0..<4 {
                let e = best.map { rotated[$0 * 8 + head * 4 + j] }.reduce(0, +) / 2
                #expect(abs(u[head * 4 + j] - e) < 1e-6)
            }
        }
        #expect(throws: AttentionError.positionsUnavailable(10..<20)) {
            try rotated.withUnsafeBufferPointer { try memory.questionVector(span: 10..<20, rotatedQueries: $0) }
        }
    }

    @Test("wrong buffer sizes are typed errors")
    func badSizes() throws {
        let shape = try AttentionShape(heads: 2, kvHeads: 1, headDim: 4)
        var memory = LayerMemory(shape: shape, config: smallConfig(), method: .infllm, rope: RotaryEmbedding(headDim: 4, base: 10_000, convention: .neox))
        let q = [Float](repeating: 0.5, count: 8), kv = [Float](repeating: 0.5, count: 3)
        #expect(throws: AttentionError.bufferSizeMismatch(buffer: "keys", expected: 4, actual: 3)) {
            _ = try memory.process(queries: q, keys: kv, values: kv, count: 1, recalled: [])
        }
        #expect(throws: AttentionError.invalidShape(heads: 3, kvHeads: 2, headDim: 4)) { _ = try AttentionShape(heads: 3, kvHeads: 2, headDim: 4) }
        #expect(memory.position == 0)
    }
}

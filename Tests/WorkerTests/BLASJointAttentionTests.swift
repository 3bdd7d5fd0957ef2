import ActQKV
import CoreTypes
import Foundation
import Testing
@testable import LanguageModel
@testable import Worker

/// The worker's BLAS joint-attention engine against ActQKV's portable engine, through
/// `LayerMemory` (same life cycle, same masking), on seeded random data.
struct BLASJointAttentionTests {
    /// SplitMix64 floats in [−1, 1).
    struct Seeded {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in generator.nextSignedUnitFloat() } }
    }

    @Test("BLAS engine equals the portable engine (outputs and local scores within 1e-5) over prefill and decode chunks, blocks recalled",
          arguments: [RetrievalMethod.infllm, .dense], [7, 64])
    func agreesWithPortable(method: RetrievalMethod, rowBlock: Int) throws {
        let shape = try AttentionShape(heads: 9, kvHeads: 3, headDim: 64)
        let config = RetrievalConfig(sinkTokens: 8, localWindow: 64, chunkTokens: 48, blockSize: 16, topK: 4, minBlocks: 2, blockCacheCapacity: 16)
        let rope = ActQKV.RotaryEmbedding(headDim: 64, base: 10_000, convention: .neox)
        var portable = LayerMemory(shape: shape, config: config, method: method, rope: rope)
        var blas = portable
        let engine = BLASJointAttention(rowBlock: rowBlock)
        var rng = Seeded(state: 42)
        var closed: [BlockKV] = []
        var maxError = 0.0
        // Eight prefill chunks of 48 tokens, then five single-token decode steps.
        for c in Array(repeating: 48, count: 8) + Array(repeating: 1, count: 5) {
            // Logits large enough that the softmax is far from uniform.
            let q = rng.floats(c * shape.queryWidth).map { $0 * 3 }, k = rng.floats(c * shape.kvWidth).map { $0 * 3 }
            let v = rng.floats(c * shape.kvWidth)
            let recalled = method == .dense ? [] : Array(closed.suffix(3).reversed())
            let a = try portable.process(queries: q, keys: k, values: v, count: c, recalled: recalled)
            let b = try blas.process(queries: q, keys: k, values: v, count: c, recalled: recalled, engine: engine)
            #expect(a.closed.map(\.index) == b.closed.map(\.index))
            #expect(a.closed.map(\.key) == b.closed.map(\.key) || zip(a.closed, b.closed).allSatisfy { x, y in
                LongContextTestSupport.relativeError(y.key, reference: x.key) < 1e-5 })
            closed += a.closed.map(\.kv)
            maxError = max(maxError, LongContextTestSupport.relativeError(b.output, reference: a.output))
            for t in portable.recentRange {
                for head in 0..<shape.heads {
                    let x = try #require(portable.localScore(position: t, head: head)), y = try #require(blas.localScore(position: t, head: head))
                    #expect(abs(x - y) <= 1e-5 * max(1, abs(x)), "score of token \(t), head \(head): \(y) vs \(x)")
                }
            }
        }
        #expect(maxError < 1e-5, "relative error \(maxError)")
        #expect(portable.position == 48 * 8 + 5)
        if method != .dense { #expect(portable.closedBlocks >= 15) }
    }
}

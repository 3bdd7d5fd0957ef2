import CoreTypes
import Foundation
import Testing
@testable import ActQKV

/// The whole method in one process (docs/ACTQKV.md §"Who runs what"): worker side (LayerMemory, probes, BlockCache with
/// fp16 payloads) and daemon side (SelectionState.select) over several layers, with K < N so that
/// retrieval really chooses.
@Suite("Whole method in one process")
struct InProcessMethodTests {
    @Test("with partial recall each query attends exactly sink ∪ chosen blocks ∪ out-of-window remainder ∪ window",
          arguments: [RetrievalMethod.infllm, .actqkv, .actqkvReference, .activateOnly, .dynamicOnly])
    func partialRecallAttendsExactlyTheChosenTokens(method: RetrievalMethod) throws {
        let shape = try AttentionShape(heads: 6, kvHeads: 2, headDim: 16)
        let w = 16, b = 4, s = 4, layers = 3
        let config = RetrievalConfig(sinkTokens: s, localWindow: w, chunkTokens: 8, blockSize: b, topK: 3, representativeTokens: 2,
                                     minBlocks: 2, maxBlocks: 6, historyLength: 3, statisticsWarmup: 4, statisticsHorizon: 10,
                                     blockCacheCapacity: 6)
        let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: .interleaved)
        var state = try SessionState(config: config, layers: layers)
        var memories = (0..<layers).map { _ in LayerMemory(shape: shape, config: config, method: method, rope: rope) }
        var blockKeys = [[Float]](repeating: [], count: layers)
        var blockCount = [Int](repeating: 0, count: layers)
        var stored = [[UInt64: KVBlock16]](repeating: [:], count: layers)       // the "daemon's" payloads
        var caches = (0..<layers).map { _ in BlockCache<BlockKV>(capacity: config.blockCacheCapacity) }
        var rng = SeededRandom(seed: 2024)
        let tokens = 120
        var q = [[Float]](repeating: [], count: layers), k = q, v = q, out = q
        // Per layer, per query position: the memory token set (positions) it was allowed to see.
        var allowed = [[Set<Int>]](repeating: [], count: layers)
        var recalledFP16 = [[Set<Int>]](repeating: [], count: layers)   // tokens that came from fp16 payloads
        var sawPartial = false
        var start = 0, chunk: UInt64 = 0
        while start < tokens {
            let c = min(8, tokens - start)
            let mode: RetrievalMode = start + c >= 100 ? .decode : .prefill
            for layer in 0..<layers {
                let cq = rng.floats(c * shape.queryWidth), ck = rng.floats(c * shape.kvWidth), cv = rng.floats(c * shape.kvWidth)
                q[layer] += cq; k[layer] += ck; v[layer] += cv
                let rotated = try cq.withUnsafeBufferPointer { try memories[layer].probeQueries($0, count: c) }
                let probe = try rotated.withUnsafeBufferPointer { try state.probes.probe(layer: layer, method: method, queries: $0, count: c) }
                let sel = try select(&state.selection, layer: layer, chunk: chunk, mode: mode, method: method, probe: probe.vector,
                                     keys: blockKeys[layer], count: blockCount[layer])
                if sel.k < blockCount[layer] { sawPartial = true }
                let plan = try caches[layer].admit(sel.chosen.map(UInt64.init))
                for id in plan.fetch { try caches[layer].store(id, payload: stored[layer][id]!.float()) }
                let recalled = sel.chosen.map { caches[layer].payload(UInt64($0))! }
                // Allowed memory for each query of this chunk, from the state before the chunk.
                let m = memories[layer]
                var chosenTokens = Set<Int>()
                for j in sel.chosen { for t in 0..<b { chosenTokens.insert(s + j * b + t) } }
                for i in 0..<c {
                    let p = start + i
                    var set = Set(m.sinkRange).union(chosenTokens)
                    if p - w >= m.recentStart { for t in m.recentStart...(p - w) { set.insert(t) } }
                    allowed[layer].append(set)
                    recalledFP16[layer].append(chosenTokens)
                }
                let r = try memories[layer].process(queries: cq, keys: ck, values: cv, count: c, recalled: recalled)
                out[layer] += r.output
                for blk in r.closed {
                    #expect(blk.index == blockCount[layer])
                    blockKeys[layer] += blk.key
                    blockCount[layer] += 1
                    stored[layer][UInt64(blk.index)] = KVBlock16(blk.kv, as: .fp16)
                }
            }
            start += c; chunk += 1
        }
        #expect(sawPartial)
        #expect(blockCount.allSatisfy { $0 >= 20 })
        // Float64 reference over exactly the allowed set; block tokens use their fp16-rounded K/V.
        let h = shape.heads, g = shape.kvHeads, d = shape.headDim
        for layer in 0..<layers {
            var p = 0
            func kv(_ a: [Float], _ t: Int, _ kvh: Int, _ j: Int) -> Double {
                let x = a[(t * g + kvh) * d + j]
                return recalledFP16[layer][p].contains(t) ? Double(HalfFloat.float(fromFP16: HalfFloat.fp16(from: x))) : Double(x)
            }
            var maxErr = 0.0, maxRef = 0.0
            for position in 0..<tokens {
                p = position
                for head in 0..<h {
                    let kvh = head / (h / g)
                    let qv = (0..<d).map { Double(q[layer][(p * h + head) * d + $0]) }
                    var logits: [(Double, Int)] = []
                    for t in 0...p {
                        let local = p - t < w
                        guard local || allowed[layer][p].contains(t) else { continue }
                        let rq = ropeReference(qv, position: local ? p - t : w - 1, base: 10_000, convention: .interleaved)
                        let keyAt: (Int) -> Double = { j in local ? Double(k[layer][(t * g + kvh) * d + j]) : kv(k[layer], t, kvh, j) }
                        logits.append(((0..<d).reduce(0.0) { $0 + rq[$1] * keyAt($1) } / Double(d).squareRoot(), t))
                    }
                    let mx = logits.map(\.0).max()!
                    let z = logits.reduce(0.0) { $0 + exp($1.0 - mx) }
                    for j in 0..<d {
                        var o = 0.0
                        for (l, t) in logits {
                            let val = p - t < w ? Double(v[layer][(t * g + kvh) * d + j]) : kv(v[layer], t, kvh, j)
                            o += exp(l - mx) / z * val
                        }
                        maxErr = max(maxErr, abs(Double(out[layer][(p * h + head) * d + j]) - o))
                        maxRef = max(maxRef, abs(o))
                    }
                }
            }
            #expect(maxErr / maxRef < 1e-5, "layer \(layer): relative error \(maxErr / maxRef)")
        }
        // Caches never exceeded C.
        #expect(caches.allSatisfy { $0.count <= config.blockCacheCapacity })
    }
}

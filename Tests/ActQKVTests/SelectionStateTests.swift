import CoreTypes
import Testing
@testable import ActQKV

/// Calls `select` with array arguments.
func select(_ state: inout SelectionState, layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod,
            probe: [Float], question: [Float]? = nil, keys: [Float], count: Int) throws(SelectionError) -> LayerSelection {
    var result: Result<LayerSelection, SelectionError> = .failure(.emptyProbe)
    probe.withUnsafeBufferPointer { p in
        keys.withUnsafeBufferPointer { k in
            if let question {
                question.withUnsafeBufferPointer { u in
                    result = Result { () throws(SelectionError) in try state.select(layer: layer, chunk: chunk, mode: mode, method: method, probe: p, question: u, keys: k, count: count) }
                }
            } else {
                result = Result { () throws(SelectionError) in try state.select(layer: layer, chunk: chunk, mode: mode, method: method, probe: p, question: nil, keys: k, count: count) }
            }
        }
    }
    return try result.get()
}

@Suite("SelectionState")
struct SelectionStateTests {
    let d = 24
    let config = RetrievalConfig(topK: 6, minBlocks: 3, maxBlocks: 12, historyLength: 4, blockCacheCapacity: 12)

    @Test("prefill mode: every layer gets min(N, K) blocks, the best-ranked ones", arguments: [RetrievalMethod.actqkv, .actqkvReference, .dynamicOnly])
    func prefillGivesMinNK(method: RetrievalMethod) throws {
        var rng = SeededRandom(seed: 1)
        var state = try SelectionState(config: config, layers: 5)
        for (chunk, n) in [0, 1, 2, 5, 6, 7, 40].enumerated() {
            for layer in 0..<5 {
                let keys = rng.floats(n * d), probe = rng.floats(d)
                let sel = try select(&state, layer: layer, chunk: UInt64(chunk), mode: .prefill, method: method, probe: probe, keys: keys, count: n)
                #expect(sel.k == min(n, 6) && sel.chosen.count == sel.k, "N = \(n), layer \(layer)")
                // Chosen = the top-k by cosine (the reference, dynamicOnly) or by inner product (actqkv), best first.
                var scores = [Float](repeating: 0, count: n)
                keys.withUnsafeBufferPointer { k in probe.withUnsafeBufferPointer { p in scores.withUnsafeMutableBufferPointer { s in
                    guard n > 0 else { return }
                    if method.ranksByCosine {
                        BlockScoring.cosines(probe: p.baseAddress!, question: nil, questionWeight: 4, keys: k.baseAddress!, count: n, width: d, into: s.baseAddress!)
                    } else {
                        BlockScoring.innerProducts(probe: p.baseAddress!, keys: k.baseAddress!, count: n, width: d, into: s.baseAddress!)
                    }
                } } }
                #expect(sel.chosen == Array((0..<n).sorted { scores[$0] > scores[$1] }.prefix(sel.k)))
                if n >= 2 { #expect(sel.density > 0 && sel.density <= 1) }
            }
        }
        #expect(state.pools.isEmpty)   // each chunk's pool is dropped after the last layer
    }

    @Test("per chunk Σ_ℓ k_ℓ equals the pool K·L when no clamping bites (decode mode, full histories)")
    func poolIsShared() throws {
        var rng = SeededRandom(seed: 2)
        let layers = 6
        let cfg = RetrievalConfig(topK: 40, minBlocks: 1, maxBlocks: 80, historyLength: 4, blockCacheCapacity: 80)
        var state = try SelectionState(config: cfg, layers: layers)
        var sawUneven = false
        for chunk in 0..<12 {
            var total = 0, ks: [Int] = []
            for layer in 0..<layers {
                // Layers differ in how peaked their score distributions are: in layer ℓ a fraction ℓ/L of
                // the blocks point away from the probe (cosine ≈ −1), the rest are random (≈ 0).
                let n = 200
                let probe = rng.floats(d)
                var keys = rng.floats(n * d)
                for j in 0..<(n * layer / layers) { for i in 0..<d { keys[j * d + i] = -probe[i] + 0.05 * keys[j * d + i] } }
                let sel = try select(&state, layer: layer, chunk: UInt64(chunk), mode: chunk < 4 ? .prefill : .decode,
                                     method: .actqkv, probe: probe, question: rng.floats(d), keys: keys, count: n)
                total += sel.k; ks.append(sel.k)
            }
            #expect(total == cfg.poolBlocks(layers: layers), "chunk \(chunk): \(ks)")
            if chunk < 4 { #expect(ks.allSatisfy { $0 == 40 }) }
            if Set(ks).count > 1 { sawUneven = true }
        }
        #expect(sawUneven)   // decode mode really redistributes
    }

    @Test("InfLLM: top-min(N, K) by raw inner product; activateOnly: min(N, K_max) by cosine")
    func fixedMethods() throws {
        var rng = SeededRandom(seed: 3)
        var state = try SelectionState(config: config, layers: 2)
        let n = 30
        let keys = rng.floats(n * d), probe = rng.floats(d)
        let sel = try select(&state, layer: 1, chunk: 0, mode: .decode, method: .infllm, probe: probe, keys: keys, count: n)
        let ip = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + Double(keys[j * d + $1]) * Double(probe[$1]) } }
        #expect(sel.chosen == Array((0..<n).sorted { ip[$0] > ip[$1] }.prefix(6)))
        let a = try select(&state, layer: 0, chunk: 0, mode: .decode, method: .activateOnly, probe: probe, keys: keys, count: n)
        #expect(a.k == 12)
        let dense = try select(&state, layer: 0, chunk: 0, mode: .decode, method: .dense, probe: probe, keys: keys, count: n)
        #expect(dense.chosen == Array(0..<n))
        #expect(state.histories.allSatisfy { $0.values.isEmpty })
    }

    @Test("budget growth: a layer of N blocks gets max(K, ⌈N/g⌉) of them, K_max and the pool alike; the growth is not encoded")
    func budgetGrowth() throws {
        var rng = SeededRandom(seed: 5)
        var state = try SelectionState(config: config, layers: 2)
        state.budgetGrowth = 4
        let keys = rng.floats(60 * d), probe = rng.floats(d)
        let ip = (0..<60).map { j in (0..<d).reduce(0.0) { $0 + Double(keys[j * d + $1]) * Double(probe[$1]) } }
        // 60 blocks: ⌈60/4⌉ = 15 > K = 6, the best 15 by inner product; 20 blocks: ⌈20/4⌉ = 5 < 6, K.
        let grown = try select(&state, layer: 0, chunk: 0, mode: .decode, method: .infllm, probe: probe, keys: keys, count: 60)
        #expect(grown.chosen == Array((0..<60).sorted { ip[$0] > ip[$1] }.prefix(15)))
        #expect(try select(&state, layer: 0, chunk: 0, mode: .decode, method: .infllm, probe: probe, keys: Array(keys.prefix(20 * d)), count: 20).k == 6)
        #expect(try select(&state, layer: 0, chunk: 0, mode: .decode, method: .activateOnly, probe: probe, keys: keys, count: 60).k == 30)
        // The ActQKV pool of a chunk is K(N)·L: in prefill each layer gets its uniform share, 15.
        #expect(try select(&state, layer: 0, chunk: 1, mode: .prefill, method: .actqkv, probe: probe, keys: keys, count: 60).k == 15)
        #expect(try select(&state, layer: 1, chunk: 1, mode: .prefill, method: .actqkv, probe: probe, keys: keys, count: 60).k == 15)
        #expect(try SelectionState(decoding: state.encoded()).budgetGrowth == 0)
        #expect(config.grown(blocks: 60, growth: 4).blockCacheCapacity == 30 && config.grown(blocks: 60, growth: 0) == config)
    }

    @Test("actqkv ranks by inner product and takes as many blocks as the reference, whose cosine density it measures")
    func actqkvRanksByInnerProduct() throws {
        // Block 0 is aligned with the probe but short; block 1 is less aligned and long: cosine
        // prefers 0, the inner product 1.
        var p = [Float](repeating: 0, count: d); p[0] = 1
        var keys = [Float](repeating: 0, count: 3 * d)
        keys[0] = 1
        keys[d] = 5; keys[d + 1] = 5
        keys[2 * d + 2] = 1
        let cfg = RetrievalConfig(topK: 1, minBlocks: 1, maxBlocks: 2, blockCacheCapacity: 2)
        var mine = try SelectionState(config: cfg, layers: 1), reference = try SelectionState(config: cfg, layers: 1)
        for (chunk, mode) in [RetrievalMode.prefill, .decode, .decode].enumerated() {
            let a = try select(&mine, layer: 0, chunk: UInt64(chunk), mode: mode, method: .actqkv, probe: p, keys: keys, count: 3)
            let r = try select(&reference, layer: 0, chunk: UInt64(chunk), mode: mode, method: .actqkvReference, probe: p, keys: keys, count: 3)
            #expect(a.chosen == [1] && r.chosen == [0], "chunk \(chunk)")
            #expect(a.k == r.k && a.density == r.density && a.density > 0)
        }
        #expect(mine.histories == reference.histories && mine.histories[0].values.count == 3)
        // The question term, a cosine, enters the density measure of actqkv but not its ranking.
        var u = [Float](repeating: 0, count: d); u[2] = 1
        let withQuestion = try select(&mine, layer: 0, chunk: 3, mode: .prefill, method: .actqkv, probe: p, question: u, keys: keys, count: 3)
        let refWithQuestion = try select(&reference, layer: 0, chunk: 3, mode: .prefill, method: .actqkvReference, probe: p, question: u, keys: keys, count: 3)
        #expect(withQuestion.chosen == [1] && refWithQuestion.chosen == [2])
        #expect(withQuestion.density == refWithQuestion.density)
    }

    @Test("the question term enters in prefill mode only")
    func questionOnlyInPrefill() throws {
        // Block 0 matches the probe, block 1 matches the question (weighted ×4).
        var p = [Float](repeating: 0.01, count: d); p[0] = 1
        var u = [Float](repeating: 0.01, count: d); u[1] = 1
        var keys = [Float](repeating: 0.02, count: 2 * d); keys[0] = 1; keys[d + 1] = 1
        let cfg = RetrievalConfig(topK: 1, minBlocks: 1, maxBlocks: 1, blockCacheCapacity: 1)
        var state = try SelectionState(config: cfg, layers: 1)
        #expect(try select(&state, layer: 0, chunk: 0, mode: .prefill, method: .actqkvReference, probe: p, question: u, keys: keys, count: 2).chosen == [1])
        #expect(try select(&state, layer: 0, chunk: 1, mode: .decode, method: .actqkvReference, probe: p, question: u, keys: keys, count: 2).chosen == [0])
        #expect(try select(&state, layer: 0, chunk: 2, mode: .prefill, method: .actqkvReference, probe: p, keys: keys, count: 2).chosen == [0])
        #expect(try select(&state, layer: 0, chunk: 3, mode: .prefill, method: .infllm, probe: p, question: u, keys: keys, count: 2).chosen == [0])
        // λ per request overrides the configuration: with λ = 0.1 the probe term wins again.
        let lowWeight = try p.withUnsafeBufferPointer { pb in try u.withUnsafeBufferPointer { ub in try keys.withUnsafeBufferPointer { kb in
            try state.select(layer: 0, chunk: 4, mode: .prefill, method: .actqkvReference, probe: pb, question: ub, questionWeight: 0.1, keys: kb, count: 2)
        } } }
        #expect(lowWeight.chosen == [0])
        #expect(throws: SelectionError.invalidQuestionWeight(-1)) {
            try p.withUnsafeBufferPointer { pb in try u.withUnsafeBufferPointer { ub in try keys.withUnsafeBufferPointer { kb in
                _ = try state.select(layer: 0, chunk: 5, mode: .prefill, method: .actqkvReference, probe: pb, question: ub, questionWeight: -1, keys: kb, count: 2)
            } } }
        }
    }

    @Test("N = 0 records density 0 and takes nothing; N = 1 takes the block and records nothing")
    func edgeCounts() throws {
        var state = try SelectionState(config: config, layers: 2)
        var rng = SeededRandom(seed: 4)
        let probe = rng.floats(d)
        let zero = try select(&state, layer: 0, chunk: 0, mode: .decode, method: .actqkv, probe: probe, keys: [], count: 0)
        #expect(zero.k == 0 && state.histories[0].values == [0] && state.pools[0] == 12)
        let one = try select(&state, layer: 1, chunk: 0, mode: .decode, method: .actqkv, probe: probe, keys: probe, count: 1)
        #expect(one.chosen == [0] && state.histories[1].values.isEmpty && state.pools[0] == nil)
    }

    @Test("nothing depends on what another session did before")
    func sessionsAreIndependent() throws {
        func run(_ state: inout SessionState, seed: UInt64) throws -> [[Int]] {
            var rng = SeededRandom(seed: seed)
            var out: [[Int]] = []
            for chunk in 0..<10 {
                for layer in 0..<3 {
                    let q = rng.floats(4 * d)
                    let probe = try q.withUnsafeBufferPointer { try state.probes.probe(layer: layer, method: .actqkv, queries: $0, count: 4) }
                    let n = 8 + chunk
                    out.append(try select(&state.selection, layer: layer, chunk: UInt64(chunk), mode: chunk < 5 ? .prefill : .decode,
                                          method: .actqkv, probe: probe.vector, keys: rng.floats(n * d), count: n).chosen)
                }
            }
            return out
        }
        let cfg = RetrievalConfig(topK: 4, minBlocks: 1, maxBlocks: 8, historyLength: 3, statisticsWarmup: 2, blockCacheCapacity: 8)
        var alone = try SessionState(config: cfg, layers: 3)
        let expected = try run(&alone, seed: 77)
        var other = try SessionState(config: cfg, layers: 3)
        _ = try run(&other, seed: 78)
        var second = try SessionState(config: cfg, layers: 3)
        #expect(try run(&second, seed: 77) == expected)
        #expect(second == alone)
    }

    @Test("bad input is a typed error and changes nothing")
    func errors() throws {
        var state = try SelectionState(config: config, layers: 2)
        let before = state
        let p = [Float](repeating: 0.5, count: d)
        #expect(throws: SelectionError.layerOutOfRange(layer: 2, layers: 2)) {
            _ = try select(&state, layer: 2, chunk: 0, mode: .prefill, method: .actqkv, probe: p, keys: [], count: 0)
        }
        #expect(throws: SelectionError.keysSizeMismatch(expected: 2 * d, actual: d)) {
            _ = try select(&state, layer: 0, chunk: 0, mode: .prefill, method: .actqkv, probe: p, keys: p, count: 2)
        }
        #expect(throws: SelectionError.questionSizeMismatch(expected: d, actual: 3)) {
            _ = try select(&state, layer: 0, chunk: 0, mode: .prefill, method: .actqkv, probe: p, question: [1, 2, 3], keys: p, count: 1)
        }
        #expect(throws: SelectionError.emptyProbe) {
            _ = try select(&state, layer: 0, chunk: 0, mode: .prefill, method: .actqkv, probe: [], keys: [], count: 0)
        }
        #expect(state == before)
        #expect(SelectionError.emptyProbe.code == 202)
    }
}

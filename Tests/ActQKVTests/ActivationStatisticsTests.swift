import Testing
@testable import ActQKV

/// Float64 re-enactment of docs/ACTQKV.md §"Activation statistics" (mean/variance update) for comparison.
struct ReferenceStatistics {
    var n = 0
    var mu: [Double] = [], sigma2: [Double] = []
    mutating func update(_ rows: [[Double]], horizon: Int) {
        let c = Double(rows.count), d = rows[0].count
        let xbar = (0..<d).map { j in rows.reduce(0.0) { $0 + $1[j] } / c }
        let s2 = (0..<d).map { j in rows.reduce(0.0) { $0 + ($1[j] - xbar[j]) * ($1[j] - xbar[j]) } / c }
        if n == 0 { mu = xbar; sigma2 = s2.map { $0 * c / (c - 1) } } else {
            let m = Double(min(n, horizon))
            for j in 0..<d {
                let delta = xbar[j] - mu[j]
                sigma2[j] = (sigma2[j] * (m - 1 / c) + s2[j] + delta * delta / (1 + 1 / m)) / (m + 1 - 1 / c)
                mu[j] = (m * mu[j] + xbar[j]) / (m + 1)
            }
        }
        n += 1
    }
}

@Suite("ActivationStatistics and probe weights")
struct ActivationStatisticsTests {
    let config = RetrievalConfig(statisticsWarmup: 3, statisticsHorizon: 5)

    func chunk(_ rng: inout SeededRandom, _ c: Int, _ d: Int) -> [Float] { rng.floats(c * d, -2, 2) }

    @Test("running mean and variance follow the reference update (Float64) through warm-up and horizon")
    func updateFormula() throws {
        var stats = ActivationStatistics()
        var ref = ReferenceStatistics()
        var rng = SeededRandom(seed: 31)
        let d = 24
        for call in 0..<12 {
            let c = 3 + call % 5
            let q = chunk(&rng, c, d)
            _ = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: c, width: d, config: config) }
            ref.update((0..<c).map { t in (0..<d).map { Double(q[t * d + $0]) } }, horizon: 5)
            for j in 0..<d {
                #expect(abs(Double(stats.mean[j]) - ref.mu[j]) < 1e-5)
                #expect(abs(Double(stats.variance[j]) - ref.sigma2[j]) < 1e-5 * max(1, ref.sigma2[j]))
            }
        }
        #expect(stats.calls == 12)
    }

    @Test("weights are uniform during warm-up (first warmup+1 calls), then activation-aware; Σ w = 1")
    func warmup() throws {
        var stats = ActivationStatistics()
        var rng = SeededRandom(seed: 5)
        let d = 16, c = 8
        for call in 0..<8 {
            let q = chunk(&rng, c, d)
            let w = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: c, width: d, config: config) }
            #expect(w.count == c)
            #expect(abs(w.reduce(0, +) - 1) < 1e-5)
            #expect(w.allSatisfy { $0 > 0 })
            if call <= 3 { #expect(w.allSatisfy { $0 == 1 / Float(c) }, "call \(call)") }
            else { #expect(w.max()! > 1.05 / Float(c), "call \(call) should weight tokens") }
        }
    }

    @Test("single-token chunks get weight 1 even after warm-up")
    func singleToken() throws {
        var stats = ActivationStatistics()
        var rng = SeededRandom(seed: 6)
        for _ in 0..<6 { let q = chunk(&rng, 4, 8); _ = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: 4, width: 8, config: config) } }
        let q = chunk(&rng, 1, 8)
        #expect(try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: 1, width: 8, config: config) } == [1])
        // The first call ever may be a single token: no division by zero, variance starts at 0.
        var fresh = ActivationStatistics()
        #expect(try q.withUnsafeBufferPointer { try fresh.update(queries: $0, count: 1, width: 8, config: config) } == [1])
        #expect(fresh.variance.allSatisfy { $0 == 0 })
    }

    @Test("the token deviating most from the running mean gets the largest weight")
    func outlierDominates() throws {
        var stats = ActivationStatistics()
        var rng = SeededRandom(seed: 7)
        let d = 32, c = 10
        for _ in 0..<5 { let q = chunk(&rng, c, d); _ = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: c, width: d, config: config) } }
        for outlier in [0, 4, 9] {
            var q = chunk(&rng, c, d)
            for j in 0..<d { q[outlier * d + j] *= 4 }
            // Expected: the token with the largest normalised squared deviation under the updated statistics.
            var copy = stats
            let w = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: c, width: d, config: config) }
            _ = try q.withUnsafeBufferPointer { try copy.update(queries: $0, count: c, width: d, config: config) }
            let meanVar = copy.variance.reduce(0, +) / Float(d)
            let ab = (0..<c).map { t in (0..<d).map { j -> Float in
                let x = q[t * d + j] - copy.mean[j]; return x * x / (copy.variance[j] + meanVar / 100) }.reduce(0, +) / Float(d) }
            #expect(w.firstIndex(of: w.max()!) == outlier)
            for t in 0..<c { #expect(abs(w[t] - ab[t] / ab.reduce(0, +)) < 1e-5) }
        }
    }

    @Test("warm-up counted in tokens ends after more than `warmup` tokens")
    func tokenWarmup() throws {
        let cfg = RetrievalConfig(statisticsWarmup: 20, warmupUnit: .tokens)
        var stats = ActivationStatistics()
        var rng = SeededRandom(seed: 8)
        var uniformCalls = 0
        for _ in 0..<6 {
            let q = chunk(&rng, 8, 8)
            let w = try q.withUnsafeBufferPointer { try stats.update(queries: $0, count: 8, width: 8, config: cfg) }
            if w.allSatisfy({ $0 == 0.125 }) { uniformCalls += 1 }
        }
        #expect(uniformCalls == 3)   // 0, 8, 16 tokens seen before: uniform; 24 > 20: weighted
    }

    @Test("scope: shared statistics count calls of all layers; per-layer statistics are separate")
    func scope() throws {
        var rng = SeededRandom(seed: 9)
        let q = chunk(&rng, 4, 8)
        for scope in [StatisticsScope.shared, .perLayer] {
            var state = try ProbeState(config: RetrievalConfig(statisticsScope: scope), layers: 3)
            for layer in 0..<3 { _ = try q.withUnsafeBufferPointer { try state.probe(layer: layer, method: .actqkv, queries: $0, count: 4) } }
            #expect(state.statistics.map(\.calls) == (scope == .shared ? [3] : [1, 1, 1]))
            // Mean probes (infllm, dynamicOnly) do not touch the statistics.
            _ = try q.withUnsafeBufferPointer { try state.probe(layer: 0, method: .infllm, queries: $0, count: 4) }
            #expect(state.statistics[0].calls == (scope == .shared ? 3 : 1))
        }
    }

    @Test("probe = Σ w_t·Q̃_t; mean probe for infllm; width changes are typed errors")
    func probeVector() throws {
        var state = try ProbeState(config: config, layers: 1)
        var rng = SeededRandom(seed: 10)
        let d = 8, c = 5
        for _ in 0..<6 { let q = chunk(&rng, c, d); _ = try q.withUnsafeBufferPointer { try state.probe(layer: 0, method: .actqkv, queries: $0, count: c) } }
        let q = chunk(&rng, c, d)
        let p = try q.withUnsafeBufferPointer { try state.probe(layer: 0, method: .actqkv, queries: $0, count: c) }
        for j in 0..<d { #expect(abs(p.vector[j] - (0..<c).reduce(0) { $0 + p.weights[$1] * q[$1 * d + j] }) < 1e-6) }
        let m = try q.withUnsafeBufferPointer { try state.probe(layer: 0, method: .infllm, queries: $0, count: c) }
        for j in 0..<d { #expect(abs(m.vector[j] - (0..<c).reduce(0) { $0 + q[$1 * d + j] } / Float(c)) < 1e-6) }
        let wide = chunk(&rng, c, 12)
        #expect(throws: SelectionError.widthMismatch(expected: 8, actual: 12)) {
            _ = try wide.withUnsafeBufferPointer { try state.probe(layer: 0, method: .actqkv, queries: $0, count: c) }
        }
    }
}

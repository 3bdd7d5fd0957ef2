/// Running mean and variance of rotated probe queries, and the activation-bias token weights
/// (docs/ACTQKV.md §"Activation statistics", §"Probe"). One instance per session (scope `shared`) or per layer (`perLayer`).
/// All arithmetic is Float32.
public struct ActivationStatistics: Sendable, Hashable {
    /// Calls folded in so far (n in docs/ACTQKV.md §"Activation statistics").
    public internal(set) var calls: UInt64
    /// Query tokens folded in so far.
    public internal(set) var tokens: UInt64
    /// Running mean μ, D floats; empty before the first call.
    public internal(set) var mean: [Float]
    /// Running variance σ², D floats; empty before the first call.
    public internal(set) var variance: [Float]

    /// Empty statistics (no call seen).
    public init() { calls = 0; tokens = 0; mean = []; variance = [] }

    init(calls: UInt64, tokens: UInt64, mean: [Float], variance: [Float]) {
        self.calls = calls; self.tokens = tokens; self.mean = mean; self.variance = variance
    }

    /// Width D of the statistics, or 0 before the first call.
    public var width: Int { mean.count }

    /// Folds one chunk of `count` rotated queries (row-major `count × width`) into the statistics
    /// and returns its `count` token weights (Σ w = 1): uniform during warm-up, for single-token
    /// chunks, and whenever the bias is degenerate; otherwise w_t = AB_t / Σ AB.
    /// - Throws: ``SelectionError/widthMismatch(expected:actual:)`` if `width` differs from earlier calls.
    public mutating func update(queries: UnsafeBufferPointer<Float>, count c: Int, width d: Int,
                                config: RetrievalConfig) throws(SelectionError) -> [Float] {
        guard c >= 1, d >= 1 else { throw .emptyProbe }
        guard queries.count >= c * d else { throw .queriesSizeMismatch(expected: c * d, actual: queries.count) }
        if !mean.isEmpty && mean.count != d { throw .widthMismatch(expected: mean.count, actual: d) }
        let q = queries.baseAddress!
        // Column mean x̄ and population variance s² of the chunk.
        var xbar = [Float](repeating: 0, count: d)
        var s2 = [Float](repeating: 0, count: d)
        let invC = 1 / Float(c)
        xbar.withUnsafeMutableBufferPointer { xb in
            for t in 0..<c { VectorKernels.axpy(1, q + t * d, xb.baseAddress!, count: d) }
            for j in 0..<d { xb[j] *= invC }
        }
        for t in 0..<c {
            let row = q + t * d
            for j in 0..<d { let x = row[j] - xbar[j]; s2[j] += x * x }
        }
        for j in 0..<d { s2[j] *= invC }

        let before = (calls: calls, tokens: tokens)
        if calls == 0 {
            mean = xbar
            variance = c > 1 ? s2.map { $0 * Float(c) / Float(c - 1) } : [Float](repeating: 0, count: d)
        } else {
            let n = Float(min(calls, UInt64(config.statisticsHorizon)))
            let a = n - invC, b = n + 1 - invC, shrink = 1 + 1 / n
            for j in 0..<d {
                let delta = xbar[j] - mean[j]
                variance[j] = (variance[j] * a + s2[j] + delta * delta / shrink) / b
                mean[j] = (n * mean[j] + xbar[j]) / (n + 1)
            }
        }
        calls &+= 1
        tokens &+= UInt64(c)

        let uniform = [Float](repeating: invC, count: c)
        guard c > 1 else { return [1] }
        let warm: Bool
        switch config.warmupUnit {
        case .calls: warm = before.calls > UInt64(config.statisticsWarmup)
        case .tokens: warm = before.tokens > UInt64(config.statisticsWarmup)
        }
        guard warm else { return uniform }
        return biasWeights(queries: q, count: c, width: d, config: config) ?? uniform
    }

    /// AB_t = mean_j (Q_tj − μ_j)² / (σ²_j + mean(σ²)·floor), normalised to Σ = 1; nil if degenerate.
    func biasWeights(queries q: UnsafePointer<Float>, count c: Int, width d: Int, config: RetrievalConfig) -> [Float]? {
        var meanVar: Float = 0
        for v in variance { meanVar += v }
        meanVar /= Float(d)
        let floor = meanVar * config.varianceFloorFraction
        guard floor > 0, floor.isFinite else { return nil }
        let inv = variance.map { 1 / ($0 + floor) }
        var ab = [Float](repeating: 0, count: c)
        var total: Float = 0
        for t in 0..<c {
            let row = q + t * d
            var s: Float = 0
            for j in 0..<d { let x = row[j] - mean[j]; s += x * x * inv[j] }
            ab[t] = s / Float(d)
            total += ab[t]
        }
        guard total > 0, total.isFinite else { return nil }
        let scale = 1 / total
        return ab.map { $0 * scale }
    }
}

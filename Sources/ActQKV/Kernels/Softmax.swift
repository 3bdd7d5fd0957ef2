#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax and its entropy in Float32 (docs/ACTQKV.md §"Budget").
public enum Softmax {
    /// Replaces `x` by softmax(x) (max-subtracted). `-infinity` entries get probability 0. If every
    /// entry is `-infinity` (or `x` is empty) the buffer is left as zeros.
    public static func inPlace(_ x: UnsafeMutableBufferPointer<Float>) {
        guard !x.isEmpty else { return }
        var m = -Float.infinity
        for v in x where v > m { m = v }
        guard m > -Float.infinity else { for i in x.indices { x[i] = 0 }; return }
        var s: Double = 0   // the normaliser of up to ~10⁴ terms is accumulated in Float64
        for i in x.indices { let e = expf(x[i] - m); x[i] = e; s += Double(e) }
        let inv = Float(1 / s)
        for i in x.indices { x[i] *= inv }
    }

    /// Entropy (nats) of softmax(`scores`): −Σ π·ln(π + 1e-10), as in the reference.
    public static func entropy(ofScores scores: UnsafeBufferPointer<Float>) -> Float {
        guard !scores.isEmpty else { return 0 }
        var m = -Float.infinity
        for v in scores where v > m { m = v }
        guard m.isFinite else { return 0 }
        var s: Double = 0   // sums over N ≤ 10⁵ blocks are accumulated in Float64
        for v in scores { s += Double(expf(v - m)) }
        let inv = Float(1 / s)
        var h: Double = 0
        for v in scores { let p = expf(v - m) * inv; h -= Double(p * logf(p + 1e-10)) }
        return Float(h)
    }

    /// Normalised density ρ = entropy / ln(N) ∈ [0, 1] for N ≥ 2 blocks; 0 for N < 2.
    public static func density(entropy: Float, count: Int) -> Float {
        count >= 2 ? entropy / logf(Float(count)) : 0
    }
}

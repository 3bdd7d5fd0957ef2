import CInferenceKernels

/// Softmax over a row of floats (vectorised in C, AVX2/FMA where available).
public enum Softmax {
    /// Replaces `x[0..<count]` by softmax(x) (max-subtracted, sums to 1) and returns the sum of
    /// the exponentials before normalisation. `count > 0`. The exponential has a relative error
    /// ≤ 2e-7 for arguments in [−87, 0]; smaller arguments give ≈ e^−87 instead of 0.
    @inlinable @discardableResult
    public static func normalize(_ x: UnsafeMutablePointer<Float>, count: Int) -> Float {
        precondition(count > 0)
        return aqk_softmax(x, Int32(count))
    }
}

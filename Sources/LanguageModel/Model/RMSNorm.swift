/// Root-mean-square normalisation: y = x / √(mean(x²) + ε) ⊙ w, one token (row) at a time.
public enum RMSNorm {
    /// Normalises `rows` consecutive rows of `width` floats from `input` into `output`
    /// (which may alias `input`), scaling by `weight` (`width` floats).
    @inlinable
    public static func apply(
        _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        rows: Int, width: Int, output: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let x = input + r * width
            let y = output + r * width
            var sum: Float = 0
            for i in 0..<width { sum += x[i] * x[i] }
            let scale = 1 / (sum / Float(width) + epsilon).squareRoot()
            for i in 0..<width { y[i] = x[i] * scale * weight[i] }
        }
    }
}

import CInferenceKernels

/// The SwiGLU activation: out = silu(gate) ⊙ up, silu(g) = g / (1 + e^−g).
public enum SwiGLU {
    /// Writes `count` floats of silu(gate) ⊙ up into `output`.
    @inlinable
    public static func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
        aqk_swiglu(gate, up, output, Int32(count))
    }
}

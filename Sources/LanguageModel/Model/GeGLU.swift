import CInferenceKernels

/// The GELU-gated activation of Gemma's feed-forward network: out = gelu(gate) ⊙ up, with GELU
/// in its tanh approximation gelu(g) = ½·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))), computed as
/// g / (1 + e^(−2u)) with u = √(2/π)·(g + 0.044715·g³) (the same function).
public enum GeGLU {
    /// Writes `count` floats of gelu(gate) ⊙ up into `output` (which must not alias `gate`).
    public static func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
        let c: Float = 0.797_884_560_802_865_4  // √(2/π)
        for i in 0..<count {
            let g = gate[i]
            // Clamped so that e^(−2u) stays finite; beyond |2u| = 80 gelu is g or 0 to Float precision.
            output[i] = max(-80, min(80, -2 * c * (g + 0.044_715 * g * g * g)))
        }
        aqk_exp(output, output, Int32(count))
        for i in 0..<count { output[i] = gate[i] / (1 + output[i]) * up[i] }
    }
}

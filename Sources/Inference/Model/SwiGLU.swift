/// The SwiGLU activation: out = silu(gate) ⊙ up, silu(g) = g / (1 + e^−g).
public enum SwiGLU {
    /// Writes `count` floats of silu(gate) ⊙ up into `output`.
    @inlinable
    public static func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let s = g / (1 + Softmax.exp16(-g))
            UnsafeMutableRawPointer(output + i).storeBytes(of: s * u, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let g = gate[i]
            output[i] = g / (1 + Softmax.exp(-g)) * up[i]
            i += 1
        }
    }
}

import CActQKVKernels

/// Scores N block keys (rows of width D, row-major) against a probe-query (docs/ACTQKV.md
/// §"Block scoring"). Keys may be Float32 or fp16 bit patterns. Cosines use the reference's normalisation
/// x / max(‖x‖, 1e-12). Callers guarantee `keys.count ≥ count·D`, `probe.count ≥ D`,
/// `out.count ≥ count`.
///
/// The work is done by the `CActQKVKernels` C kernels at the `kernel` level (default: the best
/// the CPU supports, see ``KernelLevel``): one pass per key computes every dot product and ‖k‖²
/// with independent Float32 accumulators; ‖p‖ and ‖u‖ are computed once per call in Float64.
/// fp16 keys are widened exactly (F16C in hardware at the AVX2/AVX-512 levels), so a key holding
/// ±∞ or NaN scores NaN with either key type (``TopK`` ranks NaN last).
public enum BlockScoring {
    /// The normalisation floor of `F.normalize`.
    public static let normEpsilon: Float = 1e-12

    /// out[j] = ⟨k_j, p⟩ (InfLLM: raw inner product, summed over heads = over the D-vector).
    public static func innerProducts(probe: UnsafePointer<Float>, keys: UnsafePointer<Float>, count: Int, width: Int,
                                     into out: UnsafeMutablePointer<Float>, kernel: KernelLevel = .best) {
        aqs_inner_products_f32(kernel.rawValue, probe, keys, count, width, out)
    }

    /// out[j] = cos(k_j, p) + λ·cos(k_j, u) (the second term only when `question` is non-nil).
    public static func cosines(probe: UnsafePointer<Float>, question: UnsafePointer<Float>?, questionWeight: Float,
                               keys: UnsafePointer<Float>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                               kernel: KernelLevel = .best) {
        aqs_cosines_f32(kernel.rawValue, probe, question, questionWeight, keys, count, width, out)
    }

    /// As ``cosines(probe:question:questionWeight:keys:count:width:into:kernel:)`` for fp16 keys
    /// (raw IEEE binary16 bit patterns).
    public static func cosines(probe: UnsafePointer<Float>, question: UnsafePointer<Float>?, questionWeight: Float,
                               fp16Keys keys: UnsafePointer<UInt16>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>,
                               kernel: KernelLevel = .best) {
        aqs_cosines_f16(kernel.rawValue, probe, question, questionWeight, keys, count, width, out)
    }

    /// out[j] = ⟨k_j, p⟩ for fp16 keys.
    public static func innerProducts(probe: UnsafePointer<Float>, fp16Keys keys: UnsafePointer<UInt16>, count: Int, width: Int,
                                     into out: UnsafeMutablePointer<Float>, kernel: KernelLevel = .best) {
        aqs_inner_products_f16(kernel.rawValue, probe, keys, count, width, out)
    }
}

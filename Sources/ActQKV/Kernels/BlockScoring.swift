/// Scores N block keys (rows of width D, row-major) against a probe-query (ALGORITHM.md B §2.8,
/// §3.5). Keys may be Float32 or fp16 bit patterns. Cosines use the reference's normalisation
/// x / max(‖x‖, 1e-12). Callers guarantee `keys.count ≥ count·D`, `probe.count ≥ D`,
/// `out.count ≥ count`.
public enum BlockScoring {
    /// The normalisation floor of `F.normalize`.
    public static let normEpsilon: Float = 1e-12

    /// out[j] = ⟨k_j, p⟩ (InfLLM: raw inner product, summed over heads = over the D-vector).
    public static func innerProducts(probe: UnsafePointer<Float>, keys: UnsafePointer<Float>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<count { out[j] = VectorKernels.dot(keys + j * width, probe, count: width) }
    }

    /// out[j] = cos(k_j, p) + λ·cos(k_j, u) (the second term only when `question` is non-nil).
    public static func cosines(probe: UnsafePointer<Float>, question: UnsafePointer<Float>?, questionWeight: Float,
                               keys: UnsafePointer<Float>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let pInv = 1 / max(VectorKernels.dot(probe, probe, count: width).squareRoot(), normEpsilon)
        if let u = question {
            let uScale = questionWeight / max(VectorKernels.dot(u, u, count: width).squareRoot(), normEpsilon)
            for j in 0..<count {
                let (d, e, n) = VectorKernels.twoDotsAndSquaredNorm(keys + j * width, probe, u, count: width)
                let kInv = 1 / max(n.squareRoot(), normEpsilon)
                out[j] = d * kInv * pInv + e * kInv * uScale
            }
        } else {
            for j in 0..<count {
                let (d, n) = VectorKernels.dotAndSquaredNorm(keys + j * width, probe, count: width)
                out[j] = d / max(n.squareRoot(), normEpsilon) * pInv
            }
        }
    }

    /// As ``cosines(probe:question:questionWeight:keys:count:width:into:)`` for fp16 keys.
    public static func cosines(probe: UnsafePointer<Float>, question: UnsafePointer<Float>?, questionWeight: Float,
                               fp16Keys keys: UnsafePointer<UInt16>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let pInv = 1 / max(VectorKernels.dot(probe, probe, count: width).squareRoot(), normEpsilon)
        let uScale = question.map { questionWeight / max(VectorKernels.dot($0, $0, count: width).squareRoot(), normEpsilon) } ?? 0
        let u = question ?? probe
        for j in 0..<count {
            let (d, e, n) = fp16Row(keys + j * width, probe, u, width: width)
            let kInv = 1 / max(n.squareRoot(), normEpsilon)
            out[j] = d * kInv * pInv + (question == nil ? 0 : e * kInv * uScale)
        }
    }

    /// out[j] = ⟨k_j, p⟩ for fp16 keys.
    public static func innerProducts(probe: UnsafePointer<Float>, fp16Keys keys: UnsafePointer<UInt16>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<count { out[j] = fp16Row(keys + j * width, probe, probe, width: width).0 }
    }

    /// (⟨k, p⟩, ⟨k, u⟩, ‖k‖²) for one fp16 row.
    @inline(__always)
    static func fp16Row(_ k: UnsafePointer<UInt16>, _ p: UnsafePointer<Float>, _ u: UnsafePointer<Float>, width: Int) -> (Float, Float, Float) {
        let rk = UnsafeRawPointer(k), rp = UnsafeRawPointer(p), ru = UnsafeRawPointer(u)
        var d0 = SIMD8<Float>(), d1 = SIMD8<Float>(), e0 = SIMD8<Float>(), e1 = SIMD8<Float>()
        var n0 = SIMD8<Float>(), n1 = SIMD8<Float>()
        var i = 0
        while i &+ 16 <= width {
            let k0 = HalfConversion.float(fromFP16: rk.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<UInt16>.self))
            let k1 = HalfConversion.float(fromFP16: rk.loadUnaligned(fromByteOffset: i &* 2 &+ 16, as: SIMD8<UInt16>.self))
            let o = i &* 4
            d0 += k0 * rp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            d1 += k1 * rp.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            e0 += k0 * ru.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            e1 += k1 * ru.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            n0 += k0 * k0
            n1 += k1 * k1
            i &+= 16
        }
        var d = (d0 + d1).sum(), e = (e0 + e1).sum(), n = (n0 + n1).sum()
        while i < width {
            let kv = HalfConversion.float(fromFP16: k[i])
            d += kv * p[i]; e += kv * u[i]; n += kv * kv
            i &+= 1
        }
        return (d, e, n)
    }
}

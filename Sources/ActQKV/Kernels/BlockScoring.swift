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
        let p = pairSplit(probe, width: width)
        if let question {
            let uScale = questionWeight / max(VectorKernels.dot(question, question, count: width).squareRoot(), normEpsilon)
            let u = pairSplit(question, width: width)
            p.withUnsafeBufferPointer { pb in u.withUnsafeBufferPointer { ub in
                for j in 0..<count {
                    let (d, n) = fp16Row(keys + j * width, pb.baseAddress!, width: width)
                    let (e, _) = fp16Row(keys + j * width, ub.baseAddress!, width: width)
                    let kInv = 1 / max(n.squareRoot(), normEpsilon)
                    out[j] = d * kInv * pInv + e * kInv * uScale
                }
            } }
        } else {
            p.withUnsafeBufferPointer { pb in
                for j in 0..<count {
                    let (d, n) = fp16Row(keys + j * width, pb.baseAddress!, width: width)
                    out[j] = d / max(n.squareRoot(), normEpsilon) * pInv
                }
            }
        }
    }

    /// out[j] = ⟨k_j, p⟩ for fp16 keys.
    public static func innerProducts(probe: UnsafePointer<Float>, fp16Keys keys: UnsafePointer<UInt16>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let p = pairSplit(probe, width: width)
        p.withUnsafeBufferPointer { pb in
            for j in 0..<count { out[j] = fp16Row(keys + j * width, pb.baseAddress!, width: width).0 }
        }
    }

    /// Reorders each group of 8 probe elements as [even elements | odd elements] so that an fp16
    /// row can be read as 32-bit lanes (two halves per lane) without a widening shuffle. The tail
    /// (width mod 8) stays in order.
    static func pairSplit(_ p: UnsafePointer<Float>, width: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width)
        var i = 0
        while i + 8 <= width {
            for l in 0..<4 { out[i + l] = p[i + 2 * l]; out[i + 4 + l] = p[i + 2 * l + 1] }
            i += 8
        }
        while i < width { out[i] = p[i]; i += 1 }
        return out
    }

    /// Four fp16 values sitting in the upper 16 bits of 32-bit lanes (lower bits zero) → Float32
    /// with three lane operations: an arithmetic shift places sign, exponent and mantissa, a mask
    /// clears the copies of the sign, and × 2^112 rebiases the exponent (exact for zeros, subnormals
    /// and normals). Scoring-only shortcut: fp16 ±∞/NaN become finite values ≥ 65 536 in magnitude.
    @inline(__always)
    static func widenFiniteHigh(_ t: SIMD4<Int32>) -> SIMD4<Float> {
        unsafeBitCast((t &>> 3) & Int32(bitPattern: 0x8FFF_E000), to: SIMD4<Float>.self) * Float(bitPattern: 0x7780_0000)
    }

    /// (⟨k, p⟩, ‖k‖²) for one fp16 row against a ``pairSplit(_:width:)`` probe. Four-lane vectors
    /// keep every accumulator and constant in registers on baseline x86-64 (SSE2).
    @inline(__always)
    static func fp16Row(_ k: UnsafePointer<UInt16>, _ p: UnsafePointer<Float>, width: Int) -> (Float, Float) {
        let rk = UnsafeRawPointer(k), rp = UnsafeRawPointer(p)
        var d0 = SIMD4<Float>(), d1 = SIMD4<Float>(), n0 = SIMD4<Float>(), n1 = SIMD4<Float>()
        var i = 0
        while i &+ 8 <= width {
            let lanes = rk.loadUnaligned(fromByteOffset: i &* 2, as: SIMD4<Int32>.self)
            let even = widenFiniteHigh(lanes &<< 16), odd = widenFiniteHigh(lanes & Int32(bitPattern: 0xFFFF_0000))
            let o = i &* 4
            d0 += even * rp.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            d1 += odd * rp.loadUnaligned(fromByteOffset: o &+ 16, as: SIMD4<Float>.self)
            n0 += even * even
            n1 += odd * odd
            i &+= 8
        }
        var d = (d0 + d1).sum(), n = (n0 + n1).sum()
        while i < width {
            let kv = HalfConversion.float(fromFP16: k[i])
            d += kv * p[i]; n += kv * kv
            i &+= 1
        }
        return (d, n)
    }
}

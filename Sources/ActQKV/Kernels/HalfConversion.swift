import CActQKVKernels
import CoreTypes

/// Vector and bulk conversion between Float32 and the 16-bit element types of stored K/V (IEEE
/// fp16 and bf16), on raw `UInt16` bit patterns. The scalar forms, which these match bit for
/// bit, are CoreTypes' `HalfFloat`.
public enum HalfConversion {
    /// Eight fp16 values → Float32 with SIMD integer operations (same results as the scalar form).
    @inlinable
    public static func float(fromFP16 h: SIMD8<UInt16>) -> SIMD8<Float> {
        float(fromFP16Lanes: SIMD8<UInt32>(truncatingIfNeeded: h))
    }

    /// Eight fp16 bit patterns held in the low 16 bits of 32-bit lanes (high bits zero) → Float32,
    /// exact for every pattern, with 32-bit lane integer operations only (no masks, no shuffles).
    @inlinable @inline(__always)
    public static func float(fromFP16Lanes h: SIMD8<UInt32>) -> SIMD8<Float> {
        let sign = (h & 0x8000) &<< 16
        let rest = h & 0x7FFF
        let scaled = unsafeBitCast(rest &<< 13, to: SIMD8<Float>.self) * Float(bitPattern: 0x7780_0000)  // × 2^112
        let infNaN = (0 &- ((rest &+ 0x0400) &>> 15)) & 0x7F80_0000   // exponent all ones iff rest ≥ 0x7C00
        return unsafeBitCast(unsafeBitCast(scaled, to: SIMD8<UInt32>.self) | infNaN | sign, to: SIMD8<Float>.self)
    }

    /// Four-lane form of ``float(fromFP16Lanes:)-(SIMD8<UInt32>)``.
    @inlinable @inline(__always)
    public static func float(fromFP16Lanes h: SIMD4<UInt32>) -> SIMD4<Float> {
        let sign = (h & 0x8000) &<< 16
        let rest = h & 0x7FFF
        let scaled = unsafeBitCast(rest &<< 13, to: SIMD4<Float>.self) * Float(bitPattern: 0x7780_0000)  // × 2^112
        let infNaN = (0 &- ((rest &+ 0x0400) &>> 15)) & 0x7F80_0000   // exponent all ones iff rest ≥ 0x7C00
        return unsafeBitCast(unsafeBitCast(scaled, to: SIMD4<UInt32>.self) | infNaN | sign, to: SIMD4<Float>.self)
    }

    /// Eight bf16 values → Float32.
    @inlinable
    public static func float(fromBF16 h: SIMD8<UInt16>) -> SIMD8<Float> {
        unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD8<Float>.self)
    }

    // MARK: Bulk conversion (CActQKVKernels; F16C / AVX2 / AVX-512 when available)

    /// dst[i] = fp16 `src[i]` widened to Float32 for i < `count`: bit-identical to
    /// `HalfFloat.float(fromFP16:)` for every number and ±∞ at every ``KernelLevel``; NaN stays
    /// NaN (F16C sets the quiet bit of a signalling NaN).
    public static func floats(fromFP16 src: UnsafePointer<UInt16>, into dst: UnsafeMutablePointer<Float>, count: Int,
                              kernel: KernelLevel = .best) {
        aqs_widen_f16(kernel.rawValue, src, dst, count)
    }

    /// dst[i] = bf16 `src[i]` widened to Float32 for i < `count` (exact).
    public static func floats(fromBF16 src: UnsafePointer<UInt16>, into dst: UnsafeMutablePointer<Float>, count: Int,
                              kernel: KernelLevel = .best) {
        aqs_widen_bf16(kernel.rawValue, src, dst, count)
    }

    /// dst[i] = `src[i]` rounded to fp16 for i < `count`; bit-identical to `HalfFloat.fp16(from:)`
    /// (nearest-even, overflow → ±∞, NaN → quiet NaN keeping the top payload bits).
    public static func fp16(fromFloats src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int,
                            kernel: KernelLevel = .best) {
        aqs_narrow_f16(kernel.rawValue, src, dst, count)
    }

    /// dst[i] = `src[i]` rounded to bf16 for i < `count`; bit-identical to `HalfFloat.bf16(from:)`.
    public static func bf16(fromFloats src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int,
                            kernel: KernelLevel = .best) {
        aqs_narrow_bf16(kernel.rawValue, src, dst, count)
    }
}

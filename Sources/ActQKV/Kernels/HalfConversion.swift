import CActQKVKernels

/// Conversion between Float32 and the 16-bit element types of stored K/V (IEEE fp16 and bf16),
/// handled as raw `UInt16` bit patterns so that no platform `Float16` support is required.
public enum HalfConversion {
    /// fp16 bits → Float32, exact for every value (normals, subnormals, ±0, ±∞, NaN payload kept).
    @inlinable
    public static func float(fromFP16 h: UInt16) -> Float {
        let w = UInt32(h)
        let sign = (w & 0x8000) << 16
        let rest = w & 0x7FFF
        if rest >= 0x7C00 { return Float(bitPattern: sign | 0x7F80_0000 | ((rest & 0x3FF) << 13)) }
        // Shift exponent+mantissa into place and rescale by 2^112: exact for normals and subnormals.
        let f = Float(bitPattern: rest << 13) * Float(bitPattern: 0x7780_0000)
        return Float(bitPattern: f.bitPattern | sign)
    }

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

    /// Float32 → fp16 bits, rounding to nearest even; overflow gives ±∞, NaN stays NaN.
    @inlinable
    public static func fp16(from f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        var mant = x & 0x7F_FFFF
        if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 | UInt16(mant >> 13) : 0) }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - e)
            var h = mant >> shift
            let rem = mant & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
            if rem > half || (rem == half && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into exponent: correct
        return sign | UInt16(h)
    }

    /// bf16 bits → Float32 (exact).
    @inlinable
    public static func float(fromBF16 h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// Eight bf16 values → Float32.
    @inlinable
    public static func float(fromBF16 h: SIMD8<UInt16>) -> SIMD8<Float> {
        unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD8<Float>.self)
    }

    /// Float32 → bf16 bits, rounding to nearest even; NaN stays a quiet NaN.
    @inlinable
    public static func bf16(from f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x40 }
        let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(rounded >> 16)
    }

    // MARK: Bulk conversion (CActQKVKernels; F16C / AVX2 / AVX-512 when available)

    /// dst[i] = fp16 `src[i]` widened to Float32 for i < `count`: bit-identical to
    /// ``float(fromFP16:)-(UInt16)`` for every number and ±∞ at every ``KernelLevel``; NaN stays
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

    /// dst[i] = `src[i]` rounded to fp16 for i < `count`; bit-identical to ``fp16(from:)``
    /// (nearest-even, overflow → ±∞, NaN → quiet NaN keeping the top payload bits).
    public static func fp16(fromFloats src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int,
                            kernel: KernelLevel = .best) {
        aqs_narrow_f16(kernel.rawValue, src, dst, count)
    }

    /// dst[i] = `src[i]` rounded to bf16 for i < `count`; bit-identical to ``bf16(from:)``.
    public static func bf16(fromFloats src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int,
                            kernel: KernelLevel = .best) {
        aqs_narrow_bf16(kernel.rawValue, src, dst, count)
    }
}

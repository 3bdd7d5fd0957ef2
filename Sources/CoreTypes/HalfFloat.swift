/// Scalar conversions between Float32 and the 16-bit float formats of stored K/V and GGUF
/// weights (IEEE binary16 "fp16" and bfloat16), on raw `UInt16` bit patterns so that no
/// platform `Float16` support is needed. The C kernels use the same conversions from the
/// CHalfFloat header (`chf_…`), bit for bit. Vector and bulk forms are ActQKV's
/// `HalfConversion`.
public enum HalfFloat {
    /// fp16 bits → Float32, exact for every pattern (normals, subnormals, ±0, ±∞, NaN payload
    /// kept). Branch-free, so loops over it vectorise.
    @inlinable @inline(__always)
    public static func float(fromFP16 h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let rest = UInt32(h & 0x7FFF)
        // Exponent and mantissa shifted into place and rescaled by 2^112 (= 2^(127−15)): exact
        // for normals and subnormals. Inf/NaN (exponent 31) get an all-ones exponent instead.
        let scaled = (Float(bitPattern: rest << 13) * Float(bitPattern: 0x7780_0000)).bitPattern
        let bits = rest >= 0x7C00 ? (0x7F80_0000 | (rest << 13)) : scaled
        return Float(bitPattern: bits | sign)
    }

    /// Float32 → fp16 bits, rounding to nearest even; overflow gives ±∞; NaN gives a quiet NaN
    /// keeping the top payload bits (sign | 0x7E00 | mantissa >> 13).
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

    /// bf16 bits (the upper half of a Float32) → Float32, exact.
    @inlinable @inline(__always)
    public static func float(fromBF16 h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// Float32 → bf16 bits, rounding to nearest even; NaN stays a quiet NaN (upper half | 0x40).
    @inlinable
    public static func bf16(from f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x40 }
        let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}

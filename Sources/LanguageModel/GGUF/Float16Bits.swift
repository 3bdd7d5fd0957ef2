/// Bit-level conversions between IEEE half precision / bfloat16 and Float32, written so the
/// compiler can vectorise them (no library calls, no branches on the hot path).
enum Float16Bits {
    /// Converts IEEE 754 binary16 bits to Float32, exactly (normals, subnormals, ±0, ±inf, NaN).
    @inline(__always)
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let magnitude = UInt32(h & 0x7FFF)
        // Place exponent+mantissa in Float32 position and rescale by 2^112 (= 2^(127-15)); this
        // is exact for normals and subnormals. Inf/NaN (exponent 31) keep an all-ones exponent.
        let scaled = (Float(bitPattern: magnitude << 13) * Float(bitPattern: 0x7780_0000)).bitPattern
        let bits = magnitude >= 0x7C00 ? (0x7F80_0000 | (magnitude << 13)) : scaled
        return Float(bitPattern: bits | sign)
    }

    /// Converts Float32 to IEEE binary16 bits, rounding to nearest even (overflow gives ±inf).
    @inline(__always)
    static func fromFloat(_ f: Float) -> UInt16 {
        Float16(f).bitPattern
    }

    /// Converts bfloat16 bits (the upper half of a Float32) to Float32, exactly.
    @inline(__always)
    static func bfloat16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Converts Float32 to bfloat16 bits, rounding to nearest even; NaN stays a quiet NaN.
    @inline(__always)
    static func bfloat16FromFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}

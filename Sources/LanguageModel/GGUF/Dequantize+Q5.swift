import CoreTypes

/// The 32-element 5-bit block formats. The low four bits of element j (< 16) are the low nibble
/// of `qs[j]`, those of element j + 16 its high nibble; the fifth bit of element e is bit e of
/// `qh` read as a little-endian UInt32.
///
/// - Q5_0 (22 bytes): `d: f16`, `qh: [UInt8; 4]`, `qs: [UInt8; 16]`; x = d · (q − 16).
/// - Q5_1 (24 bytes): `d: f16`, `m: f16`, `qh: [UInt8; 4]`, `qs: [UInt8; 16]`; x = d · q + m.
extension GGUFDequantizer {
    static func dequantizeQ5_0(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 22
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let high = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let (low, upper) = fiveBitPair(qs[j], high: high, j)
                y[j] = d * Float(Int32(low) - 16)
                y[j + 16] = d * Float(Int32(upper) - 16)
            }
        }
    }

    static func dequantizeQ5_1(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 24
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let m = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let high = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let (low, upper) = fiveBitPair(qs[j], high: high, j)
                y[j] = d * Float(low) + m
                y[j + 16] = d * Float(upper) + m
            }
        }
    }

    /// The 5-bit values of elements j and j + 16 (0…31) from their packed byte and the block's
    /// fifth bits.
    @inline(__always)
    private static func fiveBitPair(_ byte: UInt8, high: UInt32, _ j: Int) -> (UInt8, UInt8) {
        let fifthLow = UInt8(truncatingIfNeeded: (high >> UInt32(j)) & 1) << 4
        let fifthHigh = UInt8(truncatingIfNeeded: (high >> UInt32(j + 16)) & 1) << 4
        return ((byte & 0x0F) | fifthLow, (byte >> 4) | fifthHigh)
    }
}

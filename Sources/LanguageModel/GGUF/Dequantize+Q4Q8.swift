import CoreTypes

/// The 32-element block formats.
///
/// - Q8_0 (34 bytes): `d: f16`, `q: [Int8; 32]`; x[i] = d · q[i].
/// - Q4_0 (18 bytes): `d: f16`, `qs: [UInt8; 16]`; element j < 16 is the low nibble of qs[j],
///   element j + 16 the high nibble; x = d · (nibble − 8).
/// - Q4_1 (20 bytes): `d: f16`, `m: f16`, `qs: [UInt8; 16]` (nibbles as Q4_0); x = d · nibble + m.
extension GGUFDequantizer {
    static func dequantizeQ8_0(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 34
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let q = (block + 2).assumingMemoryBound(to: Int8.self)
            let y = out + b * 32
            for i in 0..<32 { y[i] = d * Float(q[i]) }
        }
    }

    static func dequantizeQ4_0(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 18
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let byte = qs[j]
                y[j] = d * Float(Int32(byte & 0x0F) - 8)
                y[j + 16] = d * Float(Int32(byte >> 4) - 8)
            }
        }
    }

    static func dequantizeQ4_1(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 20
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let m = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 32
            for j in 0..<16 {
                let byte = qs[j]
                y[j] = d * Float(byte & 0x0F) + m
                y[j + 16] = d * Float(byte >> 4) + m
            }
        }
    }
}

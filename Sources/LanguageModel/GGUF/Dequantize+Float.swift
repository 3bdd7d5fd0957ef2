import CoreTypes

extension GGUFDequantizer {
    /// IEEE half precision → Float32; `count` elements of 2 bytes each.
    static func dequantizeF16(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            out[i] = HalfFloat.float(fromFP16: bits)
        }
    }

    /// bfloat16 → Float32; `count` elements of 2 bytes each.
    static func dequantizeBF16(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            out[i] = HalfFloat.float(fromBF16: bits)
        }
    }
}

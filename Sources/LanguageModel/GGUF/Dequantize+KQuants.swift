import CoreTypes

/// The 256-element "k-quant" super-block formats.
///
/// - Q4_K (144 bytes): `d: f16`, `dmin: f16`, `scales: [UInt8; 12]`, `qs: [UInt8; 128]`.
///   Eight sub-blocks of 32 elements, each with a 6-bit scale `sc` and 6-bit min `m` packed in
///   `scales` (sub-block j < 4: `sc = scales[j] & 63`, `m = scales[j+4] & 63`; j ≥ 4:
///   `sc = scales[j+4] & 15 | (scales[j-4] >> 6) << 4`, `m = scales[j+4] >> 4 | (scales[j] >> 6) << 4`).
///   Sub-blocks 2g and 2g+1 share the 32 bytes `qs[32g ..< 32g+32]`: low nibbles are sub-block
///   2g, high nibbles 2g+1. x = d · sc · q − dmin · m.
/// - Q6_K (210 bytes): `ql: [UInt8; 128]` (low 4 bits), `qh: [UInt8; 64]` (high 2 bits),
///   `scales: [Int8; 16]` (one per 16 elements), `d: f16`. Each 128-element half h uses
///   `ql[64h ..< 64h+64]`, `qh[32h ..< 32h+32]`, `scales[8h ..< 8h+8]`; for l in 0..<32 the four
///   elements l, l+32, l+64, l+96 take low nibble of ql[l], low nibble of ql[l+32], high nibble
///   of ql[l], high nibble of ql[l+32], with bits (0-1, 2-3, 4-5, 6-7) of qh[l] on top;
///   x = d · scales[l/16 + 2k] · (q − 32) for the k-th of the four.
extension GGUFDequantizer {
    /// Unpacks the 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K block.
    @inline(__always)
    static func q4KScaleMin(_ j: Int, _ s: UnsafePointer<UInt8>) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (s[j] & 63, s[j + 4] & 63)
        }
        return ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }

    static func dequantizeQ4_K(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 144
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let dmin = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (block + 16).assumingMemoryBound(to: UInt8.self)
            let y = out + b * 256
            for g in 0..<4 {
                let (sc0, m0) = q4KScaleMin(2 * g, scales)
                let (sc1, m1) = q4KScaleMin(2 * g + 1, scales)
                let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let q = qs + 32 * g
                let yg = y + 64 * g
                for l in 0..<32 {
                    let byte = q[l]
                    yg[l] = d0 * Float(byte & 0x0F) - min0
                    yg[l + 32] = d1 * Float(byte >> 4) - min1
                }
            }
        }
    }

    static func dequantizeQ6_K(_ source: UnsafeRawPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 210
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
            for h in 0..<2 {
                let ql = (block + 64 * h).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 128 + 32 * h).assumingMemoryBound(to: UInt8.self)
                let sc = (block + 192 + 8 * h).assumingMemoryBound(to: Int8.self)
                let y = out + b * 256 + 128 * h
                for half in 0..<2 {
                    // Elements l in 16*half ..< 16*half+16 share scale index `half` (+2k).
                    let s0 = d * Float(sc[half]), s1 = d * Float(sc[half + 2])
                    let s2 = d * Float(sc[half + 4]), s3 = d * Float(sc[half + 6])
                    for l in (16 * half)..<(16 * half + 16) {
                        let lo = ql[l], hi = ql[l + 32], top = qh[l]
                        let q0 = Int32((lo & 0x0F) | ((top & 0x03) << 4)) - 32
                        let q1 = Int32((hi & 0x0F) | (((top >> 2) & 0x03) << 4)) - 32
                        let q2 = Int32((lo >> 4) | (((top >> 4) & 0x03) << 4)) - 32
                        let q3 = Int32((hi >> 4) | (((top >> 6) & 0x03) << 4)) - 32
                        y[l] = s0 * Float(q0)
                        y[l + 32] = s1 * Float(q1)
                        y[l + 64] = s2 * Float(q2)
                        y[l + 96] = s3 * Float(q3)
                    }
                }
            }
        }
    }
}

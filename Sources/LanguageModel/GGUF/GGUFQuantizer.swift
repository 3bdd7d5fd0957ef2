import CoreTypes

/// Encodes Float32 values into GGML tensor bytes (the inverse of ``GGUFDequantizer``), for the
/// types ``GGUFWriter`` can write: F32, F16, BF16, Q8_0, Q4_0, Q4_1.
///
/// Block scales are rounded to f16 *before* the quants are chosen, so each quant is the nearest
/// level of the scale that is actually stored. Worst-case absolute error per element: Q8_0
/// about `max|x| / 254`, Q4_1 about `(max − min) / 30`, Q4_0 about `max|x| / 16` (plus f16 rounding
/// of the scales).
public enum GGUFQuantizer {
    /// Types ``encode(_:as:)`` supports.
    public static let encodableTypes: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    /// Encodes `values` (in file order, `ne0` fastest) as `type`.
    /// - Throws: ``GGUFError/invalidTensorData(tensor:reason:)`` if `type` cannot be encoded or
    ///   `values.count` is not a multiple of `type.blockSize`.
    public static func encode(_ values: [Float], as type: GGMLType) throws(GGUFError) -> [UInt8] {
        guard encodableTypes.contains(type) else {
            throw .invalidTensorData(tensor: "", reason: "cannot encode type \(type)")
        }
        guard values.count % type.blockSize == 0 else {
            throw .invalidTensorData(tensor: "", reason: "\(values.count) values is not whole \(type) blocks")
        }
        let byteCount = values.count / type.blockSize * type.blockBytes
        var out = [UInt8](repeating: 0, count: byteCount)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBytes { raw in
                let y = raw.baseAddress!
                switch type {
                case .f32:
                    for i in 0..<x.count { y.storeBytes(of: x[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                case .f16:
                    for i in 0..<x.count { y.storeBytes(of: HalfFloat.fp16(from: x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                case .bf16:
                    for i in 0..<x.count { y.storeBytes(of: HalfFloat.bf16(from: x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                case .q8_0:
                    for b in 0..<(x.count / 32) { quantizeQ8_0Block(x.baseAddress! + 32 * b, into: y + 34 * b) }
                case .q4_0:
                    for b in 0..<(x.count / 32) { quantizeQ4_0Block(x.baseAddress! + 32 * b, into: y + 18 * b) }
                case .q4_1:
                    for b in 0..<(x.count / 32) { quantizeQ4_1Block(x.baseAddress! + 32 * b, into: y + 20 * b) }
                default:
                    break  // excluded by the guard above
                }
            }
        }
        return out
    }

    /// One Q8_0 block: d = max|x| / 127 (as f16), q = round(x / d) clamped to −127…127.
    static func quantizeQ8_0Block(_ x: UnsafePointer<Float>, into y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[i])) }
        let dBits = HalfFloat.fp16(from: amax / 127)
        let d = HalfFloat.float(fromFP16: dBits)
        let inverse: Float = d > 0 && d.isFinite ? 1 / d : 0
        y.storeBytes(of: dBits.littleEndian, as: UInt16.self)
        for i in 0..<32 {
            let q = (x[i] * inverse).rounded(.toNearestOrEven)
            y.storeBytes(of: Int8(clamping: Int(exactly: min(max(q, -127), 127)) ?? 0), toByteOffset: 2 + i, as: Int8.self)
        }
    }

    /// One Q4_0 block: d = (the signed value of largest magnitude) / −8 (as f16),
    /// q = round(x / d) + 8 clamped to 0…15.
    static func quantizeQ4_0Block(_ x: UnsafePointer<Float>, into y: UnsafeMutableRawPointer) {
        var extreme: Float = 0
        for i in 0..<32 where abs(x[i]) > abs(extreme) { extreme = x[i] }
        let dBits = HalfFloat.fp16(from: extreme / -8)
        let d = HalfFloat.float(fromFP16: dBits)
        let inverse: Float = d != 0 && d.isFinite ? 1 / d : 0
        y.storeBytes(of: dBits.littleEndian, as: UInt16.self)
        for j in 0..<16 {
            let lo = quant4((x[j] * inverse).rounded(.toNearestOrEven) + 8)
            let hi = quant4((x[j + 16] * inverse).rounded(.toNearestOrEven) + 8)
            y.storeBytes(of: lo | (hi << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// One Q4_1 block: m = min(x) (as f16), d = (max(x) − m) / 15 (as f16),
    /// q = round((x − m) / d) clamped to 0…15.
    static func quantizeQ4_1Block(_ x: UnsafePointer<Float>, into y: UnsafeMutableRawPointer) {
        var lowest = x[0], highest = x[0]
        for i in 1..<32 {
            lowest = min(lowest, x[i])
            highest = max(highest, x[i])
        }
        let mBits = HalfFloat.fp16(from: lowest)
        let m = HalfFloat.float(fromFP16: mBits)
        let dBits = HalfFloat.fp16(from: (highest - m) / 15)
        let d = HalfFloat.float(fromFP16: dBits)
        let inverse: Float = d > 0 && d.isFinite ? 1 / d : 0
        y.storeBytes(of: dBits.littleEndian, as: UInt16.self)
        y.storeBytes(of: mBits.littleEndian, toByteOffset: 2, as: UInt16.self)
        for j in 0..<16 {
            let lo = quant4(((x[j] - m) * inverse).rounded(.toNearestOrEven))
            let hi = quant4(((x[j + 16] - m) * inverse).rounded(.toNearestOrEven))
            y.storeBytes(of: lo | (hi << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    @inline(__always)
    private static func quant4(_ v: Float) -> UInt8 {
        guard v.isFinite else { return 0 }
        return UInt8(min(max(v, 0), 15))
    }
}

import CInferenceKernels
import CoreTypes
import Testing
@testable import LanguageModel

/// Builds random rows in a block format by hand (ggml layout) together with their exact values
/// (shared with ``ActivationQuantizationTests``).
func makeRows(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) -> (bytes: [UInt8], values: [Double]) {
    var g = SplitMix64(seed: seed)
    var bytes = [UInt8](), values = [Double]()
    func f16(_ v: Float) -> (UInt16, Double) { let h = Float16(v); return (h.bitPattern, Double(Float(h))) }
    func append16(_ b: UInt16) { bytes.append(UInt8(b & 0xFF)); bytes.append(UInt8(b >> 8)) }
    for _ in 0..<rows {
        for _ in 0..<(columns / 32) {
            switch format {
            case .q4_1:
                let (db, d) = f16(Float(g.nextUnit() * 0.1 + 0.01))
                let (mb, m) = f16(Float(g.nextUnit() * -0.8))
                append16(db); append16(mb)
                let codes = (0..<32).map { _ in UInt8(g.next() % 16) }
                for j in 0..<16 { bytes.append(codes[j] | (codes[j + 16] << 4)) }
                values += codes.map { d * Double($0) + m }
            case .q8_0:
                let (db, d) = f16(Float(g.nextUnit() * 0.02 + 0.001))
                append16(db)
                let codes = (0..<32).map { _ in Int8(truncatingIfNeeded: Int(g.next() % 255) - 127) }
                bytes += codes.map { UInt8(bitPattern: $0) }
                values += codes.map { d * Double($0) }
            case .f32:
                for _ in 0..<32 {
                    let x = Float(g.nextUnit() * 2 - 1)
                    withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 }
                    values.append(Double(x))
                }
            }
        }
    }
    return (bytes, values)
}

@Suite("QuantizedMatrix")
struct QuantizedMatrixTests {
    @Test("matrix–vector products on Q4_1, Q8_0 and F32 rows match a Float64 product (portable, AVX2 and best kernels)",
          arguments: [QuantizedFormat.q4_1, .q8_0, .f32])
    func matchesFloat64(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2) }
        for level in [0, 1, 2] as [Int32] {
            aqk_set_kernel_level(level)
            // 6 blocks per row (even) and 7 (the unrolled kernels' odd remainder).
            check(format: format, columns: 192)
            check(format: format, columns: 224)
        }
    }

    @Test("dequantizeRows across stacked segments gives the exact block values (on-demand prefill weights)",
          arguments: [QuantizedFormat.q4_1, .q8_0, .f32])
    func dequantizesRows(format: QuantizedFormat) {
        let rows = 300, columns = 224
        let (bytes, w) = makeRows(format, rows: rows, columns: columns, seed: 17)
        #expect(w.contains { $0 != 0 })
        bytes.withUnsafeBytes { raw in
            let first = QuantizedRows(base: raw.baseAddress!, format: format, rows: 100, columns: columns)
            let second = QuantizedRows(base: raw.baseAddress! + 100 * format.rowBytes(columns: columns), format: format, rows: 200, columns: columns)
            let m = QuantizedMatrix(segments: [first, second], owner: nil)
            var out = [Float](repeating: .nan, count: 150 * columns)
            out.withUnsafeMutableBufferPointer { m.dequantizeRows(50..<200, into: $0.baseAddress!) }
            // Float32 rounding of d·code + m: within 1e-6 of the exact value, relative to max(1, |value|).
            let err = (0..<(150 * columns)).map { abs(Double(out[$0]) - w[50 * columns + $0]) / max(1, abs(w[50 * columns + $0])) }.max()!
            #expect(err < 1e-6, "error \(err)")
        }
    }

    private func check(format: QuantizedFormat, columns: Int) {
        let rows = 300
        let (bytes, w) = makeRows(format, rows: rows, columns: columns, seed: 11)
        #expect(bytes.count == rows * format.rowBytes(columns: columns))
        var g = SplitMix64(seed: 5)
        let x = (0..<columns).map { _ in Float(g.nextUnit() * 2 - 1) }
        let reference = (0..<rows).map { r in (0..<columns).reduce(0.0) { $0 + w[r * columns + $1] * Double(x[$1]) } }
        let scale = reference.map(abs).max()!
        #expect(scale > 0.1)
        bytes.withUnsafeBytes { raw in
            // Two stacked segments exercise the segment walk.
            let first = QuantizedRows(base: raw.baseAddress!, format: format, rows: 100, columns: columns)
            let second = QuantizedRows(base: raw.baseAddress! + 100 * format.rowBytes(columns: columns), format: format, rows: 200, columns: columns)
            let m = QuantizedMatrix(segments: [first, second], owner: nil)
            #expect(m.outputCount == rows)
            var y = [Float](repeating: 0, count: rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, into: $0.baseAddress!) } }
            let err = zip(y, reference).map { abs(Double($0) - $1) }.max()!
            #expect(err / scale < 1e-5, "relative error \(err / scale)")
            // Accumulating adds to what is there.
            var z = [Float](repeating: 1, count: rows)
            x.withUnsafeBufferPointer { xp in z.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, into: $0.baseAddress!, accumulate: true) } }
            #expect(zip(z, y).allSatisfy { abs($0 - 1 - $1) <= 1e-5 * Float(scale) })
        }
    }
}

import CInferenceKernels
import CoreTypes
import Testing
@testable import LanguageModel

/// The GGUF tensor type stored in `format`.
func ggmlType(_ format: QuantizedFormat) -> GGMLType {
    switch format {
    case .q4_1: .q4_1
    case .q8_0: .q8_0
    case .q5_0: .q5_0
    case .q5_1: .q5_1
    case .q4_K: .q4_K
    case .q6_K: .q6_K
    case .f32: .f32
    }
}

/// Builds random rows in a block format by hand (ggml layout) together with their values: exact
/// for Q4_1, Q8_0 and F32 (from the codes), GGUFDequantizer's Float32 values for Q5_0, Q5_1, Q4_K
/// and Q6_K (random code bytes under scales in a realistic range). Shared with
/// ``ActivationQuantizationTests``.
func makeRows(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) -> (bytes: [UInt8], values: [Double]) {
    var g = SplitMix64(seed: seed)
    var bytes = [UInt8](), values = [Double]()
    func f16(_ v: Float) -> (UInt16, Double) { let h = Float16(v); return (h.bitPattern, Double(Float(h))) }
    func append16(_ b: UInt16) { bytes.append(UInt8(b & 0xFF)); bytes.append(UInt8(b >> 8)) }
    func randomBytes(_ n: Int) { for _ in 0..<n { bytes.append(UInt8(truncatingIfNeeded: g.next())) } }
    for _ in 0..<rows {
        for _ in 0..<(columns / format.blockValues) {
            switch format {
            case .q5_0:
                append16(f16(Float(g.nextUnit() * 0.05 + 0.005)).0)
                randomBytes(20)
            case .q5_1:
                append16(f16(Float(g.nextUnit() * 0.05 + 0.005)).0)
                append16(f16(Float(g.nextUnit() * -0.8)).0)
                randomBytes(20)
            case .q4_K:
                append16(f16(Float(g.nextUnit() * 0.002 + 0.0005)).0)  // d (× 6-bit scales)
                append16(f16(Float(g.nextUnit() * 0.004 + 0.0005)).0)  // dmin (× 6-bit mins)
                randomBytes(12 + 128)
            case .q6_K:
                randomBytes(128 + 64 + 16)
                append16(f16(Float(g.nextUnit() * 0.0005 + 0.0001)).0)
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
                for _ in 0..<1 {
                    let x = Float(g.nextUnit() * 2 - 1)
                    withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 }
                    values.append(Double(x))
                }
            }
        }
    }
    if values.isEmpty {
        values = dequantizedBySwift(format, bytes, count: rows * columns).map(Double.init)
    }
    return (bytes, values)
}

/// GGUFDequantizer's values of `count` encoded values in `format`.
func dequantizedBySwift(_ format: QuantizedFormat, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { raw in
        out.withUnsafeMutableBufferPointer { o in
            do throws(GGUFError) {
                try GGUFDequantizer.dequantize(ggmlType(format), from: raw.baseAddress!, elementCount: count, into: o.baseAddress!)
            } catch {
                Issue.record("GGUFDequantizer: \(error)")
            }
        }
    }
    return out
}

/// Columns to test a format at: odd and even block counts (the pairwise kernels' remainder) and a
/// Gemma 3 width; K-quants need multiples of 256.
func testColumns(_ format: QuantizedFormat) -> [Int] {
    format.blockValues == 256 ? [512, 768, 1024] : [192, 224, 640]
}

@Suite("QuantizedMatrix")
struct QuantizedMatrixTests {
    @Test("matrix–vector products on every format match a Float64 product of the dequantised values (portable, AVX2 and best kernels)",
          arguments: QuantizedFormat.allCases)
    func matchesFloat64(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2) }
        for level in [0, 1, 2] as [Int32] {
            aqk_set_kernel_level(level)
            for columns in testColumns(format) { check(format: format, columns: columns) }
        }
    }

    @Test("C dequantisation of Q5_0, Q5_1, Q4_K and Q6_K rows is bit-identical to GGUFDequantizer",
          arguments: [QuantizedFormat.q5_0, .q5_1, .q4_K, .q6_K])
    func dequantizesLikeSwift(format: QuantizedFormat) {
        let rows = 40, columns = 1024
        let (bytes, _) = makeRows(format, rows: rows, columns: columns, seed: 71)
        let swift = dequantizedBySwift(format, bytes, count: rows * columns)
        #expect(swift.contains { $0 != 0 } && !swift.contains { !$0.isFinite })
        var c = [Float](repeating: .nan, count: rows * columns)
        bytes.withUnsafeBytes { raw in
            let m = QuantizedMatrix(segments: [QuantizedRows(base: raw.baseAddress!, format: format, rows: rows, columns: columns)], owner: nil)
            c.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<rows, into: $0.baseAddress!) }
        }
        let differing = zip(c, swift).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(format): \(differing) values differ")
    }

    @Test("formats say which column counts they hold; a GGUF type maps to a format only when it can hold the rows")
    func formatSupport() {
        #expect(QuantizedFormat(ggmlType: .q5_0, columns: 640) == .q5_0)
        #expect(QuantizedFormat(ggmlType: .q5_1, columns: 2048) == .q5_1)
        #expect(QuantizedFormat(ggmlType: .q4_K, columns: 1024) == .q4_K)
        #expect(QuantizedFormat(ggmlType: .q6_K, columns: 2048) == .q6_K)
        #expect(QuantizedFormat(ggmlType: .q4_K, columns: 640) == nil)  // 2.5 super-blocks
        #expect(QuantizedFormat(ggmlType: .q6_K, columns: 640) == nil)
        #expect(QuantizedFormat(ggmlType: .q8_0, columns: 100) == nil)
        #expect(QuantizedFormat(ggmlType: .q4_0, columns: 640) == nil)  // no kernel
        #expect(QuantizedFormat(ggmlType: .f32, columns: 7) == .f32)
        for format in QuantizedFormat.allCases where format != .f32 {
            #expect(format.rowBytes(columns: 1024) == ggmlType(format).rowBytes(elements: 1024), "\(format)")
            #expect(format.blockValues == ggmlType(format).blockSize && format.blockBytes == ggmlType(format).blockBytes)
        }
    }

    @Test("dequantizeRows across stacked segments gives the exact block values (on-demand prefill weights)",
          arguments: QuantizedFormat.allCases)
    func dequantizesRows(format: QuantizedFormat) {
        let rows = 300, columns = format.blockValues == 256 ? 512 : 224
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
        #expect(scale > 0.05)
        bytes.withUnsafeBytes { raw in
            // Two stacked segments exercise the segment walk.
            let first = QuantizedRows(base: raw.baseAddress!, format: format, rows: 100, columns: columns)
            let second = QuantizedRows(base: raw.baseAddress! + 100 * format.rowBytes(columns: columns), format: format, rows: 200, columns: columns)
            let m = QuantizedMatrix(segments: [first, second], owner: nil)
            #expect(m.outputCount == rows)
            var y = [Float](repeating: 0, count: rows)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, into: $0.baseAddress!) } }
            let err = zip(y, reference).map { abs(Double($0) - $1) }.max()!
            #expect(err / scale < 1e-5, "\(format) \(columns) columns: relative error \(err / scale)")
            // Accumulating adds to what is there.
            var z = [Float](repeating: 1, count: rows)
            x.withUnsafeBufferPointer { xp in z.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, into: $0.baseAddress!, accumulate: true) } }
            #expect(zip(z, y).allSatisfy { abs($0 - 1 - $1) <= 1e-5 * Float(scale) })
        }
    }
}

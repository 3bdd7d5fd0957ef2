import CInferenceKernels
import CoreTypes
import Testing
@testable import LanguageModel

/// The 8-bit activation path (``ActivationPrecision/int8``): block rounding of activations, the
/// integer dot-product kernels, and the batched path through BLAS, each against a reference
/// written here from the block formats' definitions.
@Suite("8-bit activations (llama.cpp's arithmetic)", .serialized)
struct ActivationQuantizationTests {
    /// Activation rows with blocks of very different magnitudes, a zero block, a block with one
    /// non-zero value, and values exactly halfway between two codes.
    static func activations(columns: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        let magnitudes: [Double] = [0.01, 0.1, 1, 10]
        var x = [Float]()
        for i in 0..<columns {
            let u: Double = g.nextUnit() * 2 - 1
            x.append(Float(u * magnitudes[i / 32 % 4]))
        }
        x.replaceSubrange(32..<64, with: repeatElement(0, count: 32))
        x.replaceSubrange(64..<96, with: repeatElement(0, count: 32))
        x[70] = -3.5
        // Block 3: max 127, so code = value; the .5 values test ties to even.
        for j in 0..<32 { x[96 + j] = Float(j) - 15.5 }
        x[96 + 31] = 127
        return x
    }

    /// What the kernels must produce, written from the definition: d = max|x|/127,
    /// q = round-half-even(x · 127/max|x|), d and d·Σq rounded to Float16.
    static func reference(_ x: ArraySlice<Float>) -> (d: Float, s: Float, q: [Int8]) {
        let amax = x.map(abs).max()!
        let d = amax / 127, id: Float = amax != 0 ? 127 / amax : 0
        let q = x.map { Int8(($0 * id).rounded(.toNearestOrEven)) }
        let sum = q.reduce(0) { $0 + Int($1) }
        return (Float(Float16(d)), Float(Float16(d * Float(sum))), q)
    }

    @Test("block rounding: scale, codes and code sum exactly as defined (ties to even, zero block), portable and AVX2",
          arguments: [0, 1, 2] as [Int32])
    func quantizesExactly(level: Int32) {
        aqk_set_kernel_level(level)
        defer { aqk_set_kernel_level(2) }
        let columns = 256
        let x = Self.activations(columns: columns, seed: 3)
        var blocks = [AQKActivationBlock](repeating: AQKActivationBlock(), count: columns / 32)
        x.withUnsafeBufferPointer { xp in blocks.withUnsafeMutableBufferPointer { aqk_quantize_activations(xp.baseAddress!, Int32(columns / 32), $0.baseAddress!) } }
        for b in 0..<(columns / 32) {
            let expected = Self.reference(x[(32 * b)..<(32 * b + 32)])
            var block = blocks[b]
            let codes = withUnsafeBytes(of: &block.q) { Array($0.bindMemory(to: Int8.self)) }
            #expect(codes == expected.q, "block \(b)")
            #expect(block.d == expected.d && block.s == expected.s, "block \(b): d \(block.d) s \(block.s), expected \(expected)")
        }
        var zero = blocks[1], tie = blocks[3]
        #expect(zero.d == 0 && withUnsafeBytes(of: &zero.q) { $0.allSatisfy { $0 == 0 } })
        // −15.5 → −16, −14.5 → −14, 0.5 → 0, 1.5 → 2 (ties to even).
        let tieCodes = withUnsafeBytes(of: &tie.q) { Array($0.bindMemory(to: Int8.self)) }
        #expect(Array(tieCodes[0..<2]) == [-16, -14] && tieCodes[15] == 0 && tieCodes[16] == 0 && tieCodes[17] == 2)

        // The rounded activations are d·q, block by block.
        var rounded = [Float](repeating: .nan, count: columns)
        x.withUnsafeBufferPointer { xp in rounded.withUnsafeMutableBufferPointer { aqk_round_activations(xp.baseAddress!, Int32(columns / 32), $0.baseAddress!) } }
        for i in 0..<columns {
            let r = Self.reference(x[(i / 32 * 32)..<(i / 32 * 32 + 32)])
            #expect(rounded[i] == r.d * Float(r.q[i % 32]))
        }
    }

    @Test("Float32 → Float16 rounding equals Swift's Float16 conversion on every half value and its neighbours")
    func halfRoundingIsExact() {
        var mismatches = 0
        for bits in 0..<UInt16.max {
            let h = Float16(bitPattern: bits)
            guard h.isFinite else { continue }
            let f = Float(h)
            for v in [f, f.nextUp, f.nextDown, (f + Float(Float16(bitPattern: bits &+ 1))) / 2] where v.isFinite {
                let ours = aqk_round_to_half(v), swift = Float(Float16(v))
                if !(ours == swift || (ours.isNaN && swift.isNaN)) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(aqk_round_to_half(70_000) == .infinity && aqk_round_to_half(65_519) == 65_504)
    }

    @Test("integer dot products of Q4_1 and Q8_0 rows equal a Float64 evaluation of the same blocks (portable, AVX2, best)",
          arguments: [QuantizedFormat.q4_1, .q8_0])
    func integerProductsMatchFloat64(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2) }
        for level in [0, 1, 2] as [Int32] {
            aqk_set_kernel_level(level)
            for columns in [192, 256] { check(format: format, columns: columns) }  // even and odd block pairs
        }
    }

    private func check(format: QuantizedFormat, columns: Int) {
        let rows = 300
        let (bytes, w) = makeRows(format, rows: rows, columns: columns, seed: 23)
        let x = Self.activations(columns: columns, seed: 9)
        let blocks = (0..<(columns / 32)).map { Self.reference(x[(32 * $0)..<(32 * $0 + 32)]) }
        // Reference: Σ_b Σ_j w_j · d_b·q_j for Q8_0, with Q4_1's minimum entering as m · s_b
        // (llama.cpp's Q8_1 sum term), evaluated in Float64 from the stored block values.
        let reference = (0..<rows).map { r in
            (0..<columns).reduce(0.0) { acc, i in
                let blk = blocks[i / 32]
                return acc + w[r * columns + i] * Double(blk.d) * Double(blk.q[i % 32])
            }
        }
        let correction: [Double] = format == .q4_1 ? (0..<rows).map { r in
            // w = d_w·code + m: the exact product uses m·d·Σq, llama.cpp uses m·s (s = Float16(d·Σq)).
            (0..<(columns / 32)).reduce(0.0) { acc, b in
                let base = r * (columns / 32 * 20) + b * 20
                let m = Double(Float(Float16(bitPattern: UInt16(bytes[base + 2]) | UInt16(bytes[base + 3]) << 8)))
                let sum = blocks[b].q.reduce(0) { $0 + Int($1) }
                return acc + m * (Double(blocks[b].s) - Double(blocks[b].d) * Double(sum))
            }
        } : Array(repeating: 0, count: rows)
        let expected = zip(reference, correction).map { $0 + $1 }
        let scale = expected.map(abs).max()!
        #expect(scale > 0.1)
        var quantized = [AQKActivationBlock](repeating: AQKActivationBlock(), count: columns / 32)
        x.withUnsafeBufferPointer { xp in quantized.withUnsafeMutableBufferPointer { aqk_quantize_activations(xp.baseAddress!, Int32(columns / 32), $0.baseAddress!) } }
        var y = [Float](repeating: 0, count: rows)
        bytes.withUnsafeBytes { raw in
            quantized.withUnsafeBufferPointer { q in
                y.withUnsafeMutableBufferPointer { out in
                    switch format {
                    case .q4_1: aqk_matvec_q4_1_q8(raw.baseAddress!, Int32(rows), Int32(columns / 32), q.baseAddress!, out.baseAddress!, 0)
                    default: aqk_matvec_q8_0_q8(raw.baseAddress!, Int32(rows), Int32(columns / 32), q.baseAddress!, out.baseAddress!, 0)
                    }
                }
            }
        }
        let err = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(err / scale < 1e-6, "\(format) \(columns) columns: relative error \(err / scale)")
    }

    @Test("a weight's batched int8 product (BLAS on rounded activations) equals its single-vector integer product",
          arguments: [QuantizedFormat.q4_1, .q8_0])
    func batchedEqualsSingle(format: QuantizedFormat) {
        let rows = 300, columns = 256, tokens = 3
        let (bytes, _) = makeRows(format, rows: rows, columns: columns, seed: 31)
        let x = (0..<tokens).flatMap { Self.activations(columns: columns, seed: 40 + UInt64($0)) }
        bytes.withUnsafeBytes { raw in
            let weight = LinearWeight(quantized: QuantizedMatrix(
                segments: [QuantizedRows(base: raw.baseAddress!, format: format, rows: rows, columns: columns)], owner: nil))
            var batched = [Float](repeating: 0, count: tokens * rows), single = batched, exact = batched
            x.withUnsafeBufferPointer { xp in
                batched.withUnsafeMutableBufferPointer { weight.apply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, activations: .int8) }
                exact.withUnsafeMutableBufferPointer { weight.apply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, activations: .float32) }
                single.withUnsafeMutableBufferPointer { out in
                    for t in 0..<tokens { weight.apply(xp.baseAddress! + t * columns, rows: 1, into: out.baseAddress! + t * rows, activations: .int8) }
                }
            }
            let scale = single.map(abs).max()!
            let err = zip(batched, single).map { abs($0 - $1) }.max()!
            // The two differ only in Float32 summation order and, for Q4_1, in the Float16
            // rounding of s (2⁻¹¹ of the minimum term); rounding to 8 bits moves far more.
            let quantizationEffect = zip(exact, single).map { abs($0 - $1) }.max()!
            #expect(err / scale < 2e-4, "\(format): batched vs single relative error \(err / scale)")
            #expect(quantizationEffect > 20 * err, "8-bit rounding moved the products by \(quantizationEffect) only")
        }
    }
}

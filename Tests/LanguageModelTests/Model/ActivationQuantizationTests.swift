import CInferenceKernels
import CoreTypes
import Testing
@testable import LanguageModel

/// The 8-bit activation path (``ActivationPrecision/int8``): block rounding of activations, the
/// integer dot-product kernels, and the batched integer panels, each against a reference
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

    /// Q8_K rounding (K-quant weights), written from the definition: max = the first value of
    /// largest magnitude, signed; iscale = −127/max; q = min(127, round-half-even(x · iscale));
    /// d = 1/iscale (Float32); bsums = Σ q per 16 values.
    static func referenceK(_ x: ArraySlice<Float>) -> (d: Float, q: [Int8], bsums: [Int16]) {
        var amax: Float = 0, max: Float = 0
        for v in x where abs(v) > amax { amax = abs(v); max = v }
        guard amax != 0 else { return (0, Array(repeating: 0, count: 256), Array(repeating: 0, count: 16)) }
        let iscale = -127 / max
        let q = x.map { Int8(Swift.min(127, (iscale * $0).rounded(.toNearestOrEven))) }
        let bsums = (0..<16).map { k in Int16(q[(16 * k)..<(16 * k + 16)].reduce(0) { $0 + Int($1) }) }
        return (1 / iscale, q, bsums)
    }

    /// The kernel's 8-bit product of `rows` rows in `format` with x, on the calling thread (its level);
    /// added to `initial` (the kernels' accumulate mode) when given.
    static func int8Product(_ format: QuantizedFormat, _ bytes: [UInt8], rows: Int, columns: Int, _ x: [Float],
                            adding initial: [Float]? = nil) -> [Float] {
        var y = initial ?? [Float](repeating: .nan, count: rows)
        let n = Int32(rows), add: Int32 = initial == nil ? 0 : 1
        bytes.withUnsafeBytes { raw in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { out in
                    let w = raw.baseAddress!, o = out.baseAddress!
                    if format.blockValues == 256 {
                        var q = [AQKActivationBlockK](repeating: AQKActivationBlockK(), count: columns / 256)
                        q.withUnsafeMutableBufferPointer { aqk_quantize_activations_k(xp.baseAddress!, Int32(columns / 256), $0.baseAddress!) }
                        let blocks = Int32(columns / 256)
                        if format == .q4_K { aqk_matvec_q4_K_q8(w, n, blocks, q, o, add) } else { aqk_matvec_q6_K_q8(w, n, blocks, q, o, add) }
                    } else {
                        var q = [AQKActivationBlock](repeating: AQKActivationBlock(), count: columns / 32)
                        q.withUnsafeMutableBufferPointer { aqk_quantize_activations(xp.baseAddress!, Int32(columns / 32), $0.baseAddress!) }
                        let blocks = Int32(columns / 32)
                        switch format {
                        case .q4_1: aqk_matvec_q4_1_q8(w, n, blocks, q, o, add)
                        case .q8_0: aqk_matvec_q8_0_q8(w, n, blocks, q, o, add)
                        case .q5_0: aqk_matvec_q5_0_q8(w, n, blocks, q, o, add)
                        default: aqk_matvec_q5_1_q8(w, n, blocks, q, o, add)
                        }
                    }
                }
            }
        }
        return y
    }

    static let blockFormats: [QuantizedFormat] = [.q4_1, .q8_0, .q5_0, .q5_1, .q4_K, .q6_K]

    @Test("Q8_K rounding: signed maximum, Float32 scale, ties to even, 16-value sums — hand-computed blocks and the definition (portable and AVX-512)",
          arguments: [Int32(0), 2])
    func quantizesSuperBlocks(level: Int32) {
        aqk_set_kernel_level(level)
        defer { aqk_set_kernel_level(2) }
        var x = [Float](repeating: 0, count: 4 * 256)
        // Block 0: max = −127 (first of the two largest magnitudes) → iscale 1, d 1: codes are x rounded.
        x.replaceSubrange(0..<7, with: [-127, 127, 2.5, 3.5, -0.5, 126.5, -1.5])
        // Block 1: max = +127 → iscale −1, d −1: codes are −x rounded (−2.5 → −2, −3.5 → −4).
        x.replaceSubrange(256..<260, with: [127, -127, 2.5, 3.5])
        // Block 2: max = −0.5 → iscale 254, d 1/254: 0.25·254 = 63.5 → 64, 0.125·254 = 31.75 → 32.
        x.replaceSubrange(512..<516, with: [0.25, -0.5, 0.125, 0.5])
        // Block 3: all zero.
        var blocks = [AQKActivationBlockK](repeating: AQKActivationBlockK(), count: 4)
        x.withUnsafeBufferPointer { xp in blocks.withUnsafeMutableBufferPointer { aqk_quantize_activations_k(xp.baseAddress!, 4, $0.baseAddress!) } }
        func codes(_ b: Int) -> [Int8] { var blk = blocks[b]; return withUnsafeBytes(of: &blk.q) { Array($0.bindMemory(to: Int8.self)) } }
        func sums(_ b: Int) -> [Int16] { var blk = blocks[b]; return withUnsafeBytes(of: &blk.bsums) { Array($0.bindMemory(to: Int16.self)) } }
        #expect(blocks[0].d == 1 && Array(codes(0)[0..<8]) == [-127, 127, 2, 4, 0, 126, -2, 0])
        #expect(sums(0)[0] == 130 && sums(0)[1...].allSatisfy { $0 == 0 })
        #expect(blocks[1].d == -1 && Array(codes(1)[0..<5]) == [-127, 127, -2, -4, 0] && sums(1)[0] == -6)
        #expect(blocks[2].d == 1 / Float(254) && Array(codes(2)[0..<5]) == [64, -127, 32, 127, 0] && sums(2)[0] == 96)
        #expect(blocks[3].d == 0 && codes(3).allSatisfy { $0 == 0 } && sums(3).allSatisfy { $0 == 0 })

        // Random rows of varied magnitudes against the definition, and the rounded values d·q.
        let y = Self.activations(columns: 2048, seed: 77)
        var q = [AQKActivationBlockK](repeating: AQKActivationBlockK(), count: 8)
        var rounded = [Float](repeating: .nan, count: 2048)
        y.withUnsafeBufferPointer { yp in
            q.withUnsafeMutableBufferPointer { aqk_quantize_activations_k(yp.baseAddress!, 8, $0.baseAddress!) }
            rounded.withUnsafeMutableBufferPointer { aqk_round_activations_k(yp.baseAddress!, 8, $0.baseAddress!) }
        }
        for b in 0..<8 {
            let expected = Self.referenceK(y[(256 * b)..<(256 * b + 256)])
            var blk = q[b]
            let c = withUnsafeBytes(of: &blk.q) { Array($0.bindMemory(to: Int8.self)) }
            let s = withUnsafeBytes(of: &blk.bsums) { Array($0.bindMemory(to: Int16.self)) }
            #expect(blk.d == expected.d && c == expected.q && s == expected.bsums, "super-block \(b)")
            #expect((0..<256).allSatisfy { rounded[256 * b + $0] == expected.d * Float(expected.q[$0]) }, "super-block \(b) rounded")
        }
    }

    @Test("integer dot products of every block format equal a Float64 evaluation from the dequantised weights and rounded activations (portable, AVX2, AVX-512, VNNI)",
          arguments: Self.blockFormats)
    func integerProductsMatchFloat64(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2); aqk_set_vnni(1) }
        for (level, vnni) in [(0, 1), (1, 1), (2, 0), (2, 1)] as [(Int32, Int32)] {
            aqk_set_kernel_level(level)
            aqk_set_vnni(vnni)
            for columns in testColumns(format) { check(format: format, columns: columns) }
        }
    }

    @Test("every kernel level gives the same 8-bit products: bit-identical for Q4_K and Q6_K, the 32-value formats to Float32 summation order",
          arguments: Self.blockFormats)
    func levelsAgree(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2); aqk_set_vnni(1) }
        for columns in testColumns(format) {
            let rows = 200
            let (bytes, _) = makeRows(format, rows: rows, columns: columns, seed: 91)
            let x = Self.activations(columns: columns, seed: 92)
            var results: [[Float]] = []
            for (level, vnni) in [(0, 1), (1, 1), (2, 0), (2, 1)] as [(Int32, Int32)] {
                aqk_set_kernel_level(level)
                aqk_set_vnni(vnni)
                results.append(Self.int8Product(format, bytes, rows: rows, columns: columns, x))
            }
            let scale = results[0].map(abs).max()!
            #expect(scale > 0.05)
            for (i, r) in results.enumerated().dropFirst() {
                if format.blockValues == 256 {
                    #expect(r == results[0], "\(format) \(columns) columns: level \(i) differs from portable")
                } else {
                    let err = zip(r, results[0]).map { abs($0 - $1) }.max()!
                    #expect(err / scale < 1e-6, "\(format) \(columns) columns: level \(i) vs portable, relative \(err / scale)")
                }
            }
        }
    }

    @Test("a row's 8-bit product does not depend on how many rows one call takes (the AVX-512 kernels' groups of rows and their tail), and accumulate mode adds it to y",
          arguments: Self.blockFormats)
    func rowGroupsAndAccumulate(format: QuantizedFormat) {
        defer { aqk_set_kernel_level(2); aqk_set_vnni(1) }
        let rows = 11
        for columns in testColumns(format) {
            let (bytes, _) = makeRows(format, rows: rows, columns: columns, seed: 57)
            let x = Self.activations(columns: columns, seed: 58)
            let rowBytes = format.rowBytes(columns: columns)
            let initial = (0..<rows).map { Float($0) - 4.25 }
            for (level, vnni) in [(0, 1), (1, 1), (2, 0), (2, 1)] as [(Int32, Int32)] {
                aqk_set_kernel_level(level)
                aqk_set_vnni(vnni)
                let all = Self.int8Product(format, bytes, rows: rows, columns: columns, x)
                for first in 0..<rows {
                    for count in 1...(rows - first) {
                        let part = Array(bytes[(first * rowBytes)..<((first + count) * rowBytes)])
                        let y = Self.int8Product(format, part, rows: count, columns: columns, x)
                        #expect(y == Array(all[first..<(first + count)]), "\(format) \(columns) columns, level \(level) vnni \(vnni): rows \(first)..<\(first + count)")
                    }
                }
                let added = Self.int8Product(format, bytes, rows: rows, columns: columns, x, adding: initial)
                #expect(added == zip(initial, all).map { $0 + $1 }, "\(format) \(columns) columns, level \(level) vnni \(vnni): accumulate")
            }
        }
    }

    private func check(format: QuantizedFormat, columns: Int) {
        let rows = 300
        let (bytes, w) = makeRows(format, rows: rows, columns: columns, seed: 23)
        let x = Self.activations(columns: columns, seed: 9)
        // Reference: Σ_i w_i · x̃_i in Float64, x̃ the rounded activations (d·q per block); for Q4_1
        // and Q5_1 the minimum enters as m · s_b (llama.cpp's Q8_1 sum term, s rounded to Float16)
        // instead of m · d·Σq.
        var rounded = [Double](), correction = [Double](repeating: 0, count: rows)
        if format.blockValues == 256 {
            for b in 0..<(columns / 256) {
                let r = Self.referenceK(x[(256 * b)..<(256 * b + 256)])
                rounded += r.q.map { Double(r.d) * Double($0) }
            }
        } else {
            let blocks = (0..<(columns / 32)).map { Self.reference(x[(32 * $0)..<(32 * $0 + 32)]) }
            rounded = (0..<columns).map { Double(blocks[$0 / 32].d) * Double(blocks[$0 / 32].q[$0 % 32]) }
            if format == .q4_1 || format == .q5_1 {
                let rowBytes = format.rowBytes(columns: columns)
                correction = (0..<rows).map { r in
                    (0..<(columns / 32)).reduce(0.0) { acc, b in
                        let base = r * rowBytes + b * format.blockBytes
                        let m = Double(Float(Float16(bitPattern: UInt16(bytes[base + 2]) | UInt16(bytes[base + 3]) << 8)))
                        let sum = blocks[b].q.reduce(0) { $0 + Int($1) }
                        return acc + m * (Double(blocks[b].s) - Double(blocks[b].d) * Double(sum))
                    }
                }
            }
        }
        let expected = (0..<rows).map { r in
            (0..<columns).reduce(correction[r]) { $0 + w[r * columns + $1] * rounded[$1] }
        }
        let scale = expected.map(abs).max()!
        #expect(scale > 0.05)
        let y = Self.int8Product(format, bytes, rows: rows, columns: columns, x)
        let err = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(err / scale < 1e-6, "\(format) \(columns) columns, level \(aqk_kernel_level()) vnni \(aqk_uses_vnni()): relative error \(err / scale)")
    }

    @Test("a stack of Q5_0, Q4_K, Q8_0 and Q6_K segments: each segment's single-vector product is its own kernel's, and batches round each segment's activations its way")
    func mixedStack() {
        let columns = 512, tokens = 11
        let parts: [(QuantizedFormat, Int)] = [(.q5_0, 100), (.q4_K, 120), (.q8_0, 50), (.q6_K, 80)]
        let built = parts.enumerated().map { i, p in makeRows(p.0, rows: p.1, columns: columns, seed: 200 + UInt64(i)).bytes }
        let rows = parts.reduce(0) { $0 + $1.1 }
        let x = (0..<tokens).flatMap { Self.activations(columns: columns, seed: 60 + UInt64($0)) }
        // One buffer per segment, kept alive for the whole test.
        let buffers = built.map { b -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: b.count, alignment: 64)
            b.withUnsafeBytes { p.copyMemory(from: $0) }
            return p
        }
        defer { buffers.forEach { $0.deallocate() } }
        let segments = zip(parts, buffers).map { QuantizedRows(base: UnsafeRawPointer($1.baseAddress!), format: $0.0, rows: $0.1, columns: columns) }
        let matrix = QuantizedMatrix(segments: segments, owner: nil)
        #expect(matrix.activationRuns.map(\.blocks) == [.q8of32, .q8of256, .q8of32, .q8of256])
        let weight = LinearWeight(quantized: matrix)
        for set in Self.instructionSets {
            withInstructionSet(set) {
                var single = [Float](repeating: 0, count: tokens * rows), batched = single, exact = single
                x.withUnsafeBufferPointer { xp in
                    single.withUnsafeMutableBufferPointer { out in
                        for t in 0..<tokens { weight.apply(xp.baseAddress! + t * columns, rows: 1, into: out.baseAddress! + t * rows, activations: .int8) }
                    }
                    batched.withUnsafeMutableBufferPointer { weight.apply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, activations: .int8) }
                    exact.withUnsafeMutableBufferPointer { weight.apply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, activations: .float32) }
                }
                // Single vectors: exactly each segment's own kernel.
                for t in 0..<tokens {
                    var first = 0
                    for (i, p) in parts.enumerated() {
                        let own = Self.int8Product(p.0, built[i], rows: p.1, columns: columns, Array(x[(t * columns)..<((t + 1) * columns)]))
                        #expect(Array(single[(t * rows + first)..<(t * rows + first + p.1)]) == own, "\(set) token \(t) segment \(p.0)")
                        first += p.1
                    }
                }
                // Batches: Float32 summation order only (no Float16 minimum terms in these formats); a wrong
                // rounding for a segment would move it by about the whole 8-bit rounding effect.
                let scale = single.map(abs).max()!
                let err = zip(batched, single).map { abs($0 - $1) }.max()!
                let quantizationEffect = zip(exact, single).map { abs($0 - $1) }.max()!
                #expect(err / scale < 2e-5, "\(set): batched vs single relative error \(err / scale)")
                #expect(quantizationEffect > 20 * err, "8-bit rounding moved the products by \(quantizationEffect) only")
            }
        }
    }

    /// The instruction sets this CPU runs, best first.
    static var instructionSets: [KernelInstructionSet] { KernelInstructionSet.allCases.filter(\.isAvailable).reversed() }

    @Test("a weight's batched int8 product equals its single-vector integer product, with strides, accumulation and partial tiles, and is bit-identical on every instruction set (VNNI, AVX-512, AVX2, portable)",
          arguments: Self.blockFormats)
    func batchedEqualsSingle(format: QuantizedFormat) {
        let rows = 37, columns = 512, inputStride = 520, outputStride = 40
        let (bytes, _) = makeRows(format, rows: rows, columns: columns, seed: 31)
        for tokens in [3, 8, 21] {
            var x = [Float](repeating: .nan, count: tokens * inputStride)  // the gaps must not be read
            for t in 0..<tokens {
                let row = Self.activations(columns: columns, seed: 40 + UInt64(t))
                for i in 0..<columns { x[t * inputStride + i] = row[i] }
            }
            let start = (0..<(tokens * outputStride)).map { Float($0 % 7) - 3 }
            bytes.withUnsafeBytes { raw in
                let weight = LinearWeight(quantized: QuantizedMatrix(
                    segments: [QuantizedRows(base: raw.baseAddress!, format: format, rows: rows, columns: columns)], owner: nil))
                var best: [Float]?
                for set in Self.instructionSets {
                    var batched = start, single = start, exact = start
                    withInstructionSet(set) {
                        x.withUnsafeBufferPointer { xp in
                            batched.withUnsafeMutableBufferPointer {
                                weight.apply(xp.baseAddress!, rows: tokens, inputStride: inputStride, into: $0.baseAddress!, outputStride: outputStride,
                                             accumulate: true, activations: .int8)
                            }
                            exact.withUnsafeMutableBufferPointer {
                                weight.apply(xp.baseAddress!, rows: tokens, inputStride: inputStride, into: $0.baseAddress!, outputStride: outputStride,
                                             accumulate: true, activations: .float32)
                            }
                            single.withUnsafeMutableBufferPointer { out in
                                for t in 0..<tokens {
                                    weight.apply(xp.baseAddress! + t * inputStride, rows: 1, into: out.baseAddress! + t * outputStride,
                                                 accumulate: true, activations: .int8)
                                }
                            }
                        }
                    }
                    // Outside the outputs (columns rows ..< outputStride of each token) nothing changes.
                    for t in 0..<tokens {
                        #expect(Array(batched[(t * outputStride + rows)..<((t + 1) * outputStride)]) == Array(start[(t * outputStride + rows)..<((t + 1) * outputStride)]))
                    }
                    // The panels use the single-vector product's terms (Float16-rounded s for Q4_1/Q5_1
                    // minimum terms included): Float32 summation order only. Rounding to 8 bits moves
                    // the products far more.
                    let scale = single.map(abs).max()!
                    let err = zip(batched, single).map { abs($0 - $1) }.max()!
                    let quantizationEffect = zip(exact, single).map { abs($0 - $1) }.max()!
                    #expect(err / scale < 2e-5, "\(format) \(set) tokens \(tokens): batched vs single relative error \(err / scale)")
                    #expect(quantizationEffect > 20 * err, "8-bit rounding moved the products by \(quantizationEffect) only")
                    // Exact integer sums, then the same Float32 operations per group on every set.
                    if let best { #expect(batched == best, "\(format) \(set) tokens \(tokens): not bit-identical to \(Self.instructionSets[0])") }
                    best = best ?? batched
                }
            }
        }
    }
}

import CoreTypes
import Testing
@testable import LanguageModel

/// Each dequantiser against one block written byte by byte in the test, with the expected
/// values computed in Float64 straight from the format definition (indexed by output element,
/// not by the kernel's loop structure), plus a few values worked out by hand.
@Suite struct GGUFDequantizerTests {
    /// Runs the kernel on `bytes` and returns `elements` floats.
    func run(_ type: GGMLType, _ bytes: [UInt8], elements: Int) throws -> [Float] {
        #expect(bytes.count == type.rowBytes(elements: elements))
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { source.deallocate() }
        source.copyMemory(from: bytes, byteCount: bytes.count)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: elements)
        defer { out.deallocate() }
        out.initialize(repeating: .nan, count: elements)
        try GGUFDequantizer.dequantize(type, from: source, elementCount: elements, into: out)
        return Array(UnsafeBufferPointer(start: out, count: elements))
    }

    /// The same bytes as a 2-row tensor in a GGUF file: checks `dequantizeRows` picks row 1.
    func checkThroughFile(_ type: GGMLType, block: [UInt8], elements: Int, expected: [Double]) throws {
        var writer = GGUFWriter()
        // Row 0 is the block with every byte inverted, row 1 the block itself.
        try writer.addTensor(name: "t", dimensions: [elements, 2], type: type, bytes: block.map { ~$0 } + block)
        let file = try GGUFFile(bytes: try writer.serialized())
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: elements)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: .nan)
        try file.dequantizeRows(file.tensor(named: "t"), rows: 1..<2, into: buffer)
        let row = Array(buffer)
        #expect(GGUFTestSupport.maxRelativeError(row, expected) < 1e-6)
        let whole = try file.dequantize(named: "t")
        #expect(Array(whole[elements...]) == row)
    }

    @Test func f32() throws {
        let bytes: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC1, 0xDB, 0x0F, 0x49, 0x40]
        let expected: [Double] = [1.0, -10.0, 3.1415927410125732421875]  // 0x40490FDB, the Float nearest π
        let got = try run(.f32, bytes, elements: 3)
        #expect(got.map { Double($0) } == expected, "\(got)")
        try checkThroughFile(.f32, block: bytes, elements: 3, expected: expected)
    }

    @Test func f16HandValues() throws {
        // 1.0, -2.0, 0.5, 65504 (max), 2^-24 (smallest subnormal), 0.333251953125, -0.0
        let bytes: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0xFF, 0x7B, 0x01, 0x00, 0x55, 0x35, 0x00, 0x80]
        let expected: [Double] = [1, -2, 0.5, 65504, 0x1p-24, 0.333251953125, -0.0]
        let got = try run(.f16, bytes, elements: 7)
        #expect(got.map(Double.init) == expected)
        #expect(got[6].sign == .minus)
        try checkThroughFile(.f16, block: bytes, elements: 7, expected: expected)
    }

    @Test func f16ConversionIsExactForAllBitPatterns() {
        for bits in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let got = HalfFloat.float(fromFP16: bits)
            if reference.isNaN {
                #expect(got.isNaN)
            } else if got.bitPattern != reference.bitPattern {
                Issue.record("f16 0x\(String(bits, radix: 16)): got \(got), expected \(reference)")
            }
        }
    }

    @Test func bf16() throws {
        // 1.0, -3.0, 3.140625, 1e-38-ish subnormal boundary 0x0080 = 2^-126
        let bytes: [UInt8] = [0x80, 0x3F, 0x40, 0xC0, 0x49, 0x40, 0x80, 0x00]
        let expected: [Double] = [1, -3, 3.140625, 0x1p-126]
        #expect(try run(.bf16, bytes, elements: 4).map(Double.init) == expected)
        try checkThroughFile(.bf16, block: bytes, elements: 4, expected: expected)
        #expect(HalfFloat.bf16(from: 3.14159) == 0x4049)
        #expect(HalfFloat.bf16(from: -3) == 0xC040)
    }

    @Test func q8_0() throws {
        // d = 3/256 = 0.01171875 → f16 0x2200. q = -128, -127, …, then mixed signs.
        var block: [UInt8] = [0x00, 0x22]
        let q: [Int8] = [-128, -127, -1, 0, 1, 2, 3, 127, 100, -100, 50, -50, 25, -25, 12, -12,
                         7, -7, 64, -64, 32, -32, 16, -16, 8, -8, 4, -4, 126, -126, 99, -99]
        block += q.map { UInt8(bitPattern: $0) }
        let expected = q.map { 0.01171875 * Double($0) }
        let got = try run(.q8_0, block, elements: 32)
        #expect(GGUFTestSupport.maxRelativeError(got, expected) < 1e-7)
        #expect(got[0] == -1.5)  // -128 · 3/256
        #expect(got[7] == 1.48828125)  // 127 · 3/256
        try checkThroughFile(.q8_0, block: block, elements: 32, expected: expected)
    }

    @Test func q4_0() throws {
        // d = 0.75 → f16 0x3A00; x = d · (nibble − 8); element j low nibble of qs[j], j+16 high.
        let qs: [UInt8] = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x0F, 0x1E, 0x2D, 0x3C, 0x4B, 0x5A, 0x69, 0x78]
        let block: [UInt8] = [0x00, 0x3A] + qs
        let expected = (0..<32).map { e -> Double in
            let nibble = e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4
            return 0.75 * (Double(nibble) - 8)
        }
        let got = try run(.q4_0, block, elements: 32)
        #expect(GGUFTestSupport.maxRelativeError(got, expected) < 1e-7)
        #expect(got[0] == -6)      // low nibble of 0x10 = 0 → 0.75 · −8
        #expect(got[16] == -5.25)  // high nibble of 0x10 = 1 → 0.75 · −7
        #expect(got[7] == 4.5)     // low nibble of 0xFE = 14 → 0.75 · 6
        #expect(got[23] == 5.25)   // high nibble of 0xFE = 15 → 0.75 · 7
        try checkThroughFile(.q4_0, block: block, elements: 32, expected: expected)
    }

    @Test func q4_1() throws {
        // d = 0.25 → 0x3400, m = −1.5 → 0xBE00; x = d · nibble + m.
        let qs: [UInt8] = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87]
        let block: [UInt8] = [0x00, 0x34, 0x00, 0xBE] + qs
        let expected = (0..<32).map { e -> Double in
            let nibble = e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4
            return 0.25 * Double(nibble) - 1.5
        }
        let got = try run(.q4_1, block, elements: 32)
        #expect(GGUFTestSupport.maxRelativeError(got, expected) < 1e-7)
        #expect(got[0] == -1.5)   // nibble 0
        #expect(got[16] == -1.25) // nibble 1
        #expect(got[8] == -1.5)   // low nibble of 0xF0 = 0
        #expect(got[24] == 2.25)  // high nibble of 0xF0 = 15 → 3.75 − 1.5
        try checkThroughFile(.q4_1, block: block, elements: 32, expected: expected)
    }

    /// The fifth bits used by both Q5 tests: bit e of this little-endian UInt32 is element e's.
    static let q5High: [UInt8] = [0b1010_0101, 0x00, 0xFF, 0b1000_0001]
    static let q5Low: [UInt8] = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87]

    /// Element e's 5-bit value from the format definition: four bits from its nibble, the fifth
    /// from bit e of `qh`.
    static func q5Value(_ e: Int) -> Int {
        let nibble = e < 16 ? Int(q5Low[e] & 0x0F) : Int(q5Low[e - 16] >> 4)
        let fifth = (Int(q5High[e / 8]) >> (e % 8)) & 1
        return nibble + 16 * fifth
    }

    @Test func q5_0() throws {
        // d = 0.5 → f16 0x3800; x = d · (q − 16).
        let block: [UInt8] = [0x00, 0x38] + Self.q5High + Self.q5Low
        let expected = (0..<32).map { 0.5 * (Double(Self.q5Value($0)) - 16) }
        let got = try run(.q5_0, block, elements: 32)
        #expect(GGUFTestSupport.maxRelativeError(got, expected) < 1e-7)
        #expect(got[0] == 0)      // nibble 0, fifth bit 1 (bit 0 of 0xA5) → 16 → 0
        #expect(got[1] == -7)     // nibble 2, fifth bit 0 → 2 − 16 = −14 → −7
        #expect(got[16] == 0.5)   // high nibble of 0x10 = 1, fifth bit 1 (bit 0 of 0xFF) → 17 → 0.5
        #expect(got[8] == -8)     // low nibble of 0xF0 = 0, fifth bit 0 (byte 1 is 0) → −16 → −8
        #expect(got[31] == 4)     // high nibble of 0x87 = 8, fifth bit 1 (bit 7 of 0x81) → 24 → 4
        try checkThroughFile(.q5_0, block: block, elements: 32, expected: expected)
    }

    @Test func q5_1() throws {
        // d = 0.25 → 0x3400, m = −2 → 0xC000; x = d · q + m.
        let block: [UInt8] = [0x00, 0x34, 0x00, 0xC0] + Self.q5High + Self.q5Low
        let expected = (0..<32).map { 0.25 * Double(Self.q5Value($0)) - 2 }
        let got = try run(.q5_1, block, elements: 32)
        #expect(GGUFTestSupport.maxRelativeError(got, expected) < 1e-7)
        #expect(got[0] == 2)      // 16 → 4 − 2
        #expect(got[8] == -2)     // 0
        #expect(got[23] == 5.75)  // high nibble of 0xFE = 15, fifth bit 1 → 31 → 7.75 − 2
        try checkThroughFile(.q5_1, block: block, elements: 32, expected: expected)
    }

    @Test func q4_K() throws {
        // d = 0.5 (0x3800), dmin = 0.25 (0x3400). Sub-block scales and mins (6 bits each):
        let sc: [Int] = [1, 2, 3, 4, 33, 40, 50, 63]
        let mn: [Int] = [5, 6, 7, 8, 17, 20, 31, 63]
        // Packed by hand: bytes 0-3 = sc[k] | (sc[k+4] >> 4) << 6; bytes 4-7 = mn[k] | (mn[k+4] >> 4) << 6;
        // bytes 8-11 = (sc[k+4] & 15) | (mn[k+4] & 15) << 4.
        let scales: [UInt8] = [0x81, 0x82, 0xC3, 0xC4, 0x45, 0x46, 0x47, 0xC8, 0x11, 0x48, 0xF2, 0xFF]
        let qs: [UInt8] = (0..<128).map { UInt8(($0 * 37 + 11) & 0xFF) }
        let block: [UInt8] = [0x00, 0x38, 0x00, 0x34] + scales + qs
        #expect(block.count == 144)
        for j in 0..<8 {
            let unpacked = scales.withUnsafeBufferPointer { GGUFDequantizer.q4KScaleMin(j, $0.baseAddress!) }
            #expect(Int(unpacked.scale) == sc[j] && Int(unpacked.min) == mn[j], "sub-block \(j)")
        }
        // Element e is in sub-block s = e / 32; sub-blocks 2g and 2g+1 share qs[32g ..< 32g+32],
        // low nibble for the even one.
        let expected = (0..<256).map { e -> Double in
            let s = e / 32, l = e % 32, byte = qs[32 * (s / 2) + l]
            let q = s % 2 == 0 ? byte & 0x0F : byte >> 4
            return 0.5 * Double(sc[s]) * Double(q) - 0.25 * Double(mn[s])
        }
        let got = try run(.q4_K, block, elements: 256)
        #expect(GGUFTestSupport.maxRelativeError(got, expected, floor: 1e-3) < 1e-6)
        // By hand: element 0: qs[0] = 11 = 0x0B, low nibble 11 → 0.5·1·11 − 0.25·5 = 4.25.
        #expect(got[0] == 4.25)
        // Element 32: sub-block 1, high nibble of qs[0] = 0 → −0.25·6 = −1.5.
        #expect(got[32] == -1.5)
        // Element 255: sub-block 7, high nibble of qs[127] = (127·37+11) & 255 = 102 = 0x66 → 6;
        // 0.5·63·6 − 0.25·63 = 173.25.
        #expect(got[255] == 173.25)
        try checkThroughFile(.q4_K, block: block, elements: 256, expected: expected)
    }

    @Test func q6_K() throws {
        let ql: [UInt8] = (0..<128).map { UInt8(($0 * 53 + 7) & 0xFF) }
        let qh: [UInt8] = (0..<64).map { UInt8(($0 * 29 + 201) & 0xFF) }
        let sc: [Int8] = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 127, -128]
        // d = 0.125 → f16 0x3000, stored last.
        let block: [UInt8] = ql + qh + sc.map { UInt8(bitPattern: $0) } + [0x00, 0x30]
        #expect(block.count == 210)
        // Element e: half h = e / 128, r = e % 128, quarter k = r / 32, l = r % 32.
        // Low 4 bits: ql[64h + l + 32·(k odd)], low nibble for k < 2 else high nibble;
        // high 2 bits: bits 2k, 2k+1 of qh[32h + l]; scale sc[8h + l/16 + 2k]; x = d · scale · (q − 32).
        let expected = (0..<256).map { e -> Double in
            let h = e / 128, r = e % 128, k = r / 32, l = r % 32
            let low = ql[64 * h + l + (k % 2) * 32]
            let nibble = k < 2 ? low & 0x0F : low >> 4
            let high = (qh[32 * h + l] >> (2 * k)) & 0x03
            let q = Int(nibble | (high << 4)) - 32
            return 0.125 * Double(sc[8 * h + l / 16 + 2 * k]) * Double(q)
        }
        let got = try run(.q6_K, block, elements: 256)
        #expect(GGUFTestSupport.maxRelativeError(got, expected, floor: 1e-3) < 1e-6)
        // By hand: element 0: ql[0] = 7 (low nibble 7), qh[0] = 201 = 0b11001001 (bits 0-1 = 1)
        // → q = 7 + 16 − 32 = −9; scale sc[0] = 1 → 0.125 · 1 · −9 = −1.125.
        #expect(got[0] == -1.125)
        // Element 64 (k = 2): high nibble of ql[0] = 0, bits 4-5 of 201 = 0 → q = −32; sc[4] = 5 → −20.
        #expect(got[64] == -20)
        try checkThroughFile(.q6_K, block: block, elements: 256, expected: expected)
    }

    @Test func kernelsHandleManyBlocks() throws {
        // 9 blocks of Q4_1 from the quantiser: the kernel must agree block by block with a
        // Float64 decode of the bytes it was given.
        let values = GGUFWriterTests.values(32 * 9, seed: 77)
        let bytes = try GGUFQuantizer.encode(values, as: .q4_1)
        var expected: [Double] = []
        for b in 0..<9 {
            let block = Array(bytes[(20 * b)..<(20 * b + 20)])
            let d = Double(Float16(bitPattern: UInt16(block[0]) | UInt16(block[1]) << 8))
            let m = Double(Float16(bitPattern: UInt16(block[2]) | UInt16(block[3]) << 8))
            expected += (0..<32).map { e in
                let nibble = e < 16 ? block[4 + e] & 0x0F : block[4 + e - 16] >> 4
                return d * Double(nibble) + m
            }
        }
        let got = try run(.q4_1, bytes, elements: 32 * 9)
        #expect(GGUFTestSupport.maxRelativeError(got, expected, floor: 1e-3) < 1e-6)
    }

    @Test func unsupportedTypesThrow() throws {
        let bytes = [UInt8](repeating: 1, count: GGMLType.q5_K.blockBytes)
        #expect(throws: GGUFError.unsupportedDequantization(.q5_K)) { try run(.q5_K, bytes, elements: 256) }
        #expect(GGUFError.unsupportedDequantization(.q5_K).code == 18)
    }
}

import Testing
@testable import ActQKV

@Suite("HalfConversion")
struct HalfConversionTests {
    @Test("fp16 → Float32 is exact for all 65 536 patterns; SIMD equals scalar; Float32 → fp16 inverts it")
    func fp16Exhaustive() {
        for raw in 0...0xFFFF {
            let h = UInt16(raw)
            let f = HalfConversion.float(fromFP16: h)
            #if arch(x86_64) || arch(arm64)
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN { #expect(f.isNaN) } else { #expect(f.bitPattern == expected.bitPattern, "pattern \(raw)") }
            #endif
            let v = HalfConversion.float(fromFP16: SIMD8<UInt16>(repeating: h))
            #expect(v[3].bitPattern == f.bitPattern)
            let lanes = HalfConversion.float(fromFP16Lanes: SIMD8<UInt32>(repeating: UInt32(h)))
            #expect(lanes[5].bitPattern == f.bitPattern)
            let four = HalfConversion.float(fromFP16Lanes: SIMD4<UInt32>(repeating: UInt32(h)))
            #expect(four[2].bitPattern == f.bitPattern)
            if !f.isNaN { #expect(HalfConversion.fp16(from: f) == h) }
        }
    }

    @Test("Float32 → fp16 rounds to nearest even, like the platform Float16")
    func fp16Rounding() {
        var rng = SeededRandom(seed: 1)
        for i in 0..<200_000 {
            // Spread over normals, subnormals, overflow.
            let scale: Float = [1e-8, 1e-5, 1, 100, 70_000][i % 5]
            let x = rng.float() * scale
            #expect(HalfConversion.fp16(from: x) == Float16(x).bitPattern, "x = \(x)")
        }
        #expect(HalfConversion.fp16(from: .infinity) == 0x7C00)
        #expect(HalfConversion.float(fromFP16: HalfConversion.fp16(from: .nan)).isNaN)
    }

    @Test("bf16: exact widening, nearest-even narrowing")
    func bf16() {
        var rng = SeededRandom(seed: 2)
        for _ in 0..<100_000 {
            let x = rng.float() * 1000
            let b = HalfConversion.bf16(from: x)
            let back = HalfConversion.float(fromBF16: b)
            // Nearest: no other bf16 value is closer.
            let up = HalfConversion.float(fromBF16: b &+ 1), down = HalfConversion.float(fromBF16: b &- 1)
            #expect(abs(back - x) <= abs(up - x) && abs(back - x) <= abs(down - x))
            #expect(HalfConversion.float(fromBF16: SIMD8<UInt16>(repeating: b))[0] == back)
        }
        #expect(HalfConversion.float(fromBF16: HalfConversion.bf16(from: .nan)).isNaN)
    }
}

import CoreTypes
import Testing
@testable import ActQKV

@Suite("HalfConversion")
struct HalfConversionTests {
    @Test("fp16 → Float32 is exact for all 65 536 patterns; SIMD equals scalar; Float32 → fp16 inverts it")
    func fp16Exhaustive() {
        for raw in 0...0xFFFF {
            let h = UInt16(raw)
            let f = HalfFloat.float(fromFP16: h)
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
            if !f.isNaN { #expect(HalfFloat.fp16(from: f) == h) }
        }
    }

    @Test("Float32 → fp16 rounds to nearest even, like the platform Float16")
    func fp16Rounding() {
        var rng = SeededRandom(seed: 1)
        for i in 0..<200_000 {
            // Spread over normals, subnormals, overflow.
            let scale: Float = [1e-8, 1e-5, 1, 100, 70_000][i % 5]
            let x = rng.float() * scale
            #expect(HalfFloat.fp16(from: x) == Float16(x).bitPattern, "x = \(x)")
        }
        #expect(HalfFloat.fp16(from: .infinity) == 0x7C00)
        #expect(HalfFloat.float(fromFP16: HalfFloat.fp16(from: .nan)).isNaN)
    }

    @Test("bf16: exact widening, nearest-even narrowing")
    func bf16() {
        var rng = SeededRandom(seed: 2)
        for _ in 0..<100_000 {
            let x = rng.float() * 1000
            let b = HalfFloat.bf16(from: x)
            let back = HalfFloat.float(fromBF16: b)
            // Nearest: no other bf16 value is closer.
            let up = HalfFloat.float(fromBF16: b &+ 1), down = HalfFloat.float(fromBF16: b &- 1)
            #expect(abs(back - x) <= abs(up - x) && abs(back - x) <= abs(down - x))
            #expect(HalfConversion.float(fromBF16: SIMD8<UInt16>(repeating: b))[0] == back)
        }
        #expect(HalfFloat.float(fromBF16: HalfFloat.bf16(from: .nan)).isNaN)
    }

    // MARK: bulk conversion at every kernel level

    /// Runs `body` on `values` in pieces of lengths 1…40 (every tail length of the 8- and 16-lane
    /// loops) and in one piece, returning both results.
    static func piecewise<S, D>(_ values: [S], fill: D, _ body: (UnsafePointer<S>, UnsafeMutablePointer<D>, Int) -> Void) -> ([D], [D]) {
        var pieces = [D](repeating: fill, count: values.count), whole = pieces
        values.withUnsafeBufferPointer { src in
            pieces.withUnsafeMutableBufferPointer { dst in
                var i = 0, len = 1
                while i < values.count {
                    let c = min(len, values.count - i)
                    body(src.baseAddress! + i, dst.baseAddress! + i, c)
                    i += c; len = len % 40 + 1
                }
            }
            whole.withUnsafeMutableBufferPointer { body(src.baseAddress!, $0.baseAddress!, values.count) }
        }
        return (pieces, whole)
    }

    @Test("bulk fp16/bf16 → Float32 equals the scalar widening for all 65 536 patterns at every level")
    func bulkWidening() {
        let all = (0...0xFFFF).map { UInt16($0) }
        for level in KernelLevel.available {
            let (a, b) = Self.piecewise(all, fill: Float.nan) { HalfConversion.floats(fromFP16: $0, into: $1, count: $2, kernel: level) }
            let (c, e) = Self.piecewise(all, fill: Float.nan) { HalfConversion.floats(fromBF16: $0, into: $1, count: $2, kernel: level) }
            var mismatches = 0
            for h in all {
                let i = Int(h)
                let f = HalfFloat.float(fromFP16: h), g = HalfFloat.float(fromBF16: h)
                for x in [a[i], b[i]] where f.isNaN ? !x.isNaN : x.bitPattern != f.bitPattern { mismatches += 1 }
                for x in [c[i], e[i]] where g.isNaN ? !x.isNaN : x.bitPattern != g.bitPattern { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(level)")
        }
    }

    @Test("bulk Float32 → fp16/bf16 equals the scalar rounding (ties, subnormals, overflow, NaN) at every level")
    func bulkNarrowing() {
        var values: [Float] = [0, -0, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFA0_0000),
                               65504, 65519.99, 65520, -65520, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 5.9604645e-8, 2.9802322e-8]
        // Every fp16 value, the exact midpoints to its successor (ties) and one Float32 ulp either side.
        for h in UInt16(0)..<0x7C00 {
            let x = HalfFloat.float(fromFP16: h), y = HalfFloat.float(fromFP16: h + 1)
            let mid = (x + y) / 2
            values += [x, -x, mid, -mid, mid.nextUp, mid.nextDown]
        }
        // bf16 ties and their neighbours.
        for b in stride(from: UInt32(0), to: 0x7F80, by: 7) {
            let tie = Float(bitPattern: b << 16 | 0x8000)
            values += [tie, -tie, tie.nextUp, tie.nextDown]
        }
        var rng = SeededRandom(seed: 3)
        for i in 0..<100_000 { values.append(rng.float() * [1e-9, 1e-6, 1, 1e3, 1e38][i % 5]) }
        let f16 = values.map { HalfFloat.fp16(from: $0) }, b16 = values.map { HalfFloat.bf16(from: $0) }
        for level in KernelLevel.available {
            let (a, b) = Self.piecewise(values, fill: UInt16(0x1234)) { HalfConversion.fp16(fromFloats: $0, into: $1, count: $2, kernel: level) }
            let (c, e) = Self.piecewise(values, fill: UInt16(0x1234)) { HalfConversion.bf16(fromFloats: $0, into: $1, count: $2, kernel: level) }
            let bad16 = values.indices.filter { a[$0] != f16[$0] || b[$0] != f16[$0] }
            let badB = values.indices.filter { c[$0] != b16[$0] || e[$0] != b16[$0] }
            #expect(bad16.isEmpty, "\(level): fp16 first mismatch \(bad16.first.map { values[$0] } as Float?)")
            #expect(badB.isEmpty, "\(level): bf16 first mismatch \(badB.first.map { values[$0] } as Float?)")
        }
    }
}

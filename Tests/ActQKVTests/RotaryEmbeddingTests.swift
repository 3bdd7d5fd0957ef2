import Testing
@testable import ActQKV

@Suite("RotaryEmbedding")
struct RotaryEmbeddingTests {
    @Test("matches Float64 at small and large positions, both conventions", arguments: [RoPEConvention.neox, .interleaved])
    func againstFloat64(convention: RoPEConvention) {
        let rope = RotaryEmbedding(headDim: 64, base: 500_000, convention: convention, tablePositions: 600)
        var rng = SeededRandom(seed: 3)
        for position in [0, 1, 511, 599, 600, 100_000] {
            var x = rng.floats(64)
            let ref = ropeReference(x.map(Double.init), position: position, base: 500_000, convention: convention)
            x.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, position: position) }
            for j in 0..<64 { #expect(abs(Double(x[j]) - ref[j]) < 1e-6, "position \(position)") }
        }
    }

    @Test("scores depend only on the distance: (R_a q)·(R_b k) = (R_(a−b) q)·k")
    func relative() {
        for convention in [RoPEConvention.neox, .interleaved] {
            let rope = RotaryEmbedding(headDim: 16, base: 10_000, convention: convention)
            var rng = SeededRandom(seed: 9)
            let q = rng.floats(16), k = rng.floats(16)
            func rotated(_ v: [Float], _ p: Int) -> [Float] { var v = v; v.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, position: p) }; return v }
            func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
            #expect(abs(dot(rotated(q, 700), rotated(k, 200)) - dot(rotated(q, 500), k)) < 1e-5)
        }
    }

    @Test("interleaved is neox applied to de-interleaved dimensions; none is the identity")
    func conventions() {
        let neox = RotaryEmbedding(headDim: 8, base: 10_000, convention: .neox)
        let inter = RotaryEmbedding(headDim: 8, base: 10_000, convention: .interleaved)
        var rng = SeededRandom(seed: 4)
        let x = rng.floats(8)
        var a = x, b = [0, 2, 4, 6, 1, 3, 5, 7].map { x[$0] }
        a.withUnsafeMutableBufferPointer { inter.apply($0.baseAddress!, position: 37) }
        b.withUnsafeMutableBufferPointer { neox.apply($0.baseAddress!, position: 37) }
        for i in 0..<4 { #expect(a[2 * i] == b[i] && a[2 * i + 1] == b[i + 4]) }
        var c = x
        c.withUnsafeMutableBufferPointer { RotaryEmbedding(headDim: 8, base: 10_000, convention: .none).apply($0.baseAddress!, position: 37) }
        #expect(c == x)
        #expect(a != x)
    }

    @Test("an odd head dimension leaves the last element unrotated instead of trapping")
    func oddDimension() {
        let rope = RotaryEmbedding(headDim: 5, base: 10_000, convention: .neox)
        var x: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5]
        x.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, position: 3) }
        #expect(x[4] == 0.5)
        let ref = ropeReference([0.1, 0.2, 0.3, 0.4].map { Double(Float($0)) }, position: 3, base: 10_000, convention: .neox)
        // Pairs (0, 2) and (1, 3) with ω_i = θ^(−2i/5): compare pair 0 (ω_0 = 1 in both).
        #expect(abs(Double(x[0]) - ref[0]) < 1e-6 && abs(Double(x[2]) - ref[2]) < 1e-6)
    }
}

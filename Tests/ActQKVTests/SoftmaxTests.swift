import Foundation
import Testing
@testable import ActQKV

@Suite("Softmax and density")
struct SoftmaxTests {
    @Test("softmax and entropy agree with Float64 within 1e-6", arguments: [2, 10, 1000, 16_384])
    func againstFloat64(n: Int) {
        var rng = SeededRandom(seed: UInt64(n))
        let s = rng.floats(n, -5, 5)
        let m = s.map(Double.init).max()!
        let e = s.map { exp(Double($0) - m) }, z = e.reduce(0, +)
        let pref = e.map { $0 / z }
        let href = -pref.reduce(0.0) { $0 + $1 * log($1 + 1e-10) }
        var p = s
        p.withUnsafeMutableBufferPointer { Softmax.inPlace($0) }
        for i in 0..<n { #expect(abs(Double(p[i]) - pref[i]) <= 1e-6 * pref[i]) }
        let h = s.withUnsafeBufferPointer { Softmax.entropy(ofScores: $0) }
        #expect(abs(Double(h) - href) <= 1e-6 * href + 1e-6)
        let rho = Softmax.density(entropy: h, count: n)
        #expect(rho > 0 && rho <= 1)
    }

    @Test("uniform scores have density 1; a dominant block has density near 0; N < 2 has 0")
    func densityExtremes() {
        let flat = [Float](repeating: 0.3, count: 50)
        let h = flat.withUnsafeBufferPointer { Softmax.entropy(ofScores: $0) }
        #expect(abs(Softmax.density(entropy: h, count: 50) - 1) < 1e-5)
        var peaked = [Float](repeating: -40, count: 50); peaked[7] = 40
        let h2 = peaked.withUnsafeBufferPointer { Softmax.entropy(ofScores: $0) }
        #expect(Softmax.density(entropy: h2, count: 50) < 1e-3)
        #expect(Softmax.density(entropy: 0.5, count: 1) == 0)
        var masked: [Float] = [-.infinity, 1, -.infinity]
        masked.withUnsafeMutableBufferPointer { Softmax.inPlace($0) }
        #expect(masked == [0, 1, 0])
    }
}

import CoreTypes
import Foundation
import Testing
@testable import LanguageModel

@Suite("Softmax and SwiGLU kernels")
struct SoftmaxTests {
    @Test("softmax of rows of many lengths equals a Float64 softmax (relative error < 1e-6)")
    func softmaxMatchesFloat64() {
        var g = SplitMix64(seed: 3)
        for count in [1, 7, 8, 9, 31, 64, 1000, 4099] {
            var row = (0..<count).map { _ in Float(g.nextUnit() * 40 - 20) }
            let m = Double(row.max()!)
            let e = row.map { exp(Double($0) - m) }
            let z = e.reduce(0, +)
            let returned = row.withUnsafeMutableBufferPointer { Softmax.normalize($0.baseAddress!, count: count) }
            #expect(abs(Double(returned) - z) / z < 1e-6)
            for i in 0..<count { #expect(abs(Double(row[i]) - e[i] / z) <= 1e-6 * max(e[i] / z, 1e-30) + 1e-12) }
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test("SwiGLU equals g / (1 + e^−g) · u in Float64, including large |g|")
    func swigluMatchesFloat64() {
        var g = SplitMix64(seed: 4)
        let n = 1037
        var gate = (0..<n).map { _ in Float(g.nextUnit() * 20 - 10) }
        gate[0] = 120; gate[1] = -120
        let up = (0..<n).map { _ in Float(g.nextUnit() * 4 - 2) }
        var out = [Float](repeating: 0, count: n)
        gate.withUnsafeBufferPointer { gp in
            up.withUnsafeBufferPointer { upp in
                out.withUnsafeMutableBufferPointer { SwiGLU.apply(gate: gp.baseAddress!, up: upp.baseAddress!, count: n, output: $0.baseAddress!) }
            }
        }
        for i in 0..<n {
            let gd = Double(gate[i]), expected = gd / (1 + exp(-gd)) * Double(up[i])
            #expect(abs(Double(out[i]) - expected) <= 1e-6 * max(abs(expected), 1e-3), "index \(i)")
        }
    }
}

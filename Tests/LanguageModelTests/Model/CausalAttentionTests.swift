import CInferenceKernels
import CoreTypes
import Foundation
import Testing
@testable import LanguageModel

@Suite("Single-query attention kernel")
struct CausalAttentionTests {
    /// softmax(scale · K·q) · V in Float64.
    private static func reference(q: [Float], keys: [Float], values: [Float], count: Int, dim: Int, scale: Float) -> [Double] {
        var s = (0..<count).map { j in Double(scale) * (0..<dim).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[j * dim + $1]) } }
        let m = s.max()!
        s = s.map { exp($0 - m) }
        let z = s.reduce(0, +)
        return (0..<dim).map { i in (0..<count).reduce(0.0) { $0 + s[$1] / z * Double(values[$1 * dim + i]) } }
    }

    @Test("aqk_attend_one equals a Float64 reference at every instruction set, head sizes 64 and 256 and key counts not a multiple of 4")
    func attendOneMatchesFloat64() {
        var g = SplitMix64(seed: 11)
        for set in KernelInstructionSet.allCases where set.isAvailable {
            for dim in [16, 48, 64, 256] {
                for count in [1, 3, 4, 7, 130, 1027] {
                    let q = (0..<dim).map { _ in Float(g.nextUnit() * 2 - 1) }
                    let keys = (0..<(count * dim)).map { _ in Float(g.nextUnit() * 2 - 1) }
                    let values = (0..<(count * dim)).map { _ in Float(g.nextUnit() * 2 - 1) }
                    let scale = 1 / Float(dim).squareRoot() * 4
                    var scores = [Float](repeating: 0, count: count)
                    var out = [Float](repeating: .nan, count: dim)
                    withInstructionSet(set) {
                        aqk_attend_one(q, keys, values, Int32(count), Int32(dim), scale, &scores, &out)
                    }
                    let expected = Self.reference(q: q, keys: keys, values: values, count: count, dim: dim, scale: scale)
                    let norm = expected.map { $0 * $0 }.reduce(0, +).squareRoot()
                    let error = zip(out, expected).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
                    #expect(error <= 1e-5 * norm, "\(set) dim \(dim) keys \(count): relative error \(error / norm)")
                }
            }
        }
    }
}

import Testing
@testable import ActQKV

@Suite("TopK")
struct TopKTests {
    @Test("equals a full stable sort, best first", arguments: [0, 1, 5, 46, 92, 500])
    func matchesSort(k: Int) {
        var rng = SeededRandom(seed: UInt64(k) + 1)
        // Coarse values force many ties.
        let s = (0..<300).map { _ in Float(Int(rng.float(0, 20))) }
        let got = s.withUnsafeBufferPointer { TopK.indices(of: $0, k: k) }
        let expected = Array((0..<300).sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }.prefix(k))
        #expect(got == expected)
    }

    @Test("NaN scores rank last")
    func nan() {
        let s: [Float] = [.nan, 0.5, -3, .nan, 2]
        #expect(s.withUnsafeBufferPointer { TopK.indices(of: $0, k: 3) } == [4, 1, 2])
    }
}

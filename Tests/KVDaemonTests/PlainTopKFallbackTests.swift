import Testing
@testable import KVDaemon

struct PlainTopKFallbackTests {
    /// Deterministic non-trivial data: a small linear congruential generator in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var x = seed
        return (0..<count).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: x >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    @Test(arguments: [(count: 200, dimension: 64, k: 17), (count: 50, dimension: 576, k: 46), (count: 5, dimension: 8, k: 9)])
    func choosesTheLargestInnerProductsLikeAFloat64Reference(count: Int, dimension: Int, k: Int) {
        let keys = Self.values(count * dimension, seed: UInt64(count))
        let probe = Self.values(dimension, seed: 99)
        let chosen = keys.withUnsafeBufferPointer {
            PlainTopKFallback.select(keys: $0, count: count, dimension: dimension, probe: probe, k: k)
        }
        let reference = (0..<count).map { row in
            (0..<dimension).reduce(0.0) { $0 + Double(keys[row * dimension + $1]) * Double(probe[$1]) }
        }
        #expect(chosen.count == min(count, k))
        #expect(zip(chosen, chosen.dropFirst()).allSatisfy { reference[$0] >= reference[$1] - 1e-4 }, "best score first")
        let threshold = chosen.map { reference[$0] }.min() ?? .infinity
        let best = Set(chosen)
        for row in 0..<count where !best.contains(row) {
            // Allow float rounding: an unchosen block scores no higher than the weakest chosen one.
            #expect(reference[row] <= threshold + 1e-4 * max(1, abs(threshold)), "row \(row)")
        }
    }

    @Test func zeroBudgetChoosesNothing() {
        let keys: [Float] = [1, 2, 3, 4]
        let chosen = keys.withUnsafeBufferPointer {
            PlainTopKFallback.select(keys: $0, count: 2, dimension: 2, probe: [1, 1], k: 0)
        }
        #expect(chosen.isEmpty)
    }
}

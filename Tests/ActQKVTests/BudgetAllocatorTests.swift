import CoreTypes
import Testing
@testable import ActQKV

@Suite("BudgetAllocator")
struct BudgetAllocatorTests {
    let config = RetrievalConfig(topK: 10, minBlocks: 5, maxBlocks: 20, historyLength: 3, blockCacheCapacity: 20)

    func histories(_ means: [Float]) -> [DensityHistory] {
        means.map { m in var h = DensityHistory(capacity: 3); for _ in 0..<3 { h.record(m) }; return h }
    }

    /// Runs the allocator over L layers from a full pool; returns k per layer.
    func allocate(_ means: [Float], mode: RetrievalMode, n: Int) -> [Int] {
        var pool = config.poolBlocks(layers: means.count)
        let hs = histories(means)
        return (0..<means.count).map { l in
            let k = BudgetAllocator.blocks(share: BudgetAllocator.share(layer: l, layers: means.count, mode: mode, histories: hs),
                                           pool: pool, available: n, config: config)
            pool -= k
            return k
        }
    }

    @Test("prefill: every layer gets min(N, K)")
    func prefill() {
        #expect(allocate([0.9, 0.95, 1.0, 0.85], mode: .prefill, n: 100) == [10, 10, 10, 10])
        #expect(allocate([0.9, 0.95, 1.0, 0.85], mode: .prefill, n: 7) == [7, 7, 7, 7])
        #expect(allocate([0.9, 0.95, 1.0, 0.85], mode: .prefill, n: 1) == [1, 1, 1, 1])
        #expect(allocate([0.9, 0.95, 1.0, 0.85], mode: .prefill, n: 0) == [0, 0, 0, 0])
    }

    @Test("decode: the pool is shared by density (hand-computed)")
    func decode() {
        // R=40: 0.9/3.7·40 = 9.73 → 10; R=30: 0.95/2.8·30 = 10.18 → 10; R=20: 1/1.85·20 = 10.81 → 11; R=9 → 9.
        #expect(allocate([0.9, 0.95, 1.0, 0.85], mode: .decode, n: 100) == [10, 10, 11, 9])
    }

    @Test("clamping at K_min and K_max; half-to-even rounding")
    func clamping() {
        // 0.1/3.1·40 = 1.29 → K_min 5; R=35: 35/3 = 11.67 → 12; R=23: 11.5 → 12 (even); R=11 → 11.
        #expect(allocate([0.1, 1, 1, 1], mode: .decode, n: 100) == [5, 12, 12, 11])
        // 5/8·40 = 25 → K_max 20; R=20: 6.67 → 7; R=13: 6.5 → 6 (even); R=7 → 7.
        #expect(allocate([5, 1, 1, 1], mode: .decode, n: 100) == [20, 7, 6, 7])
        // Clamps are min(N, ·): with N = 3 every layer gets 3 whatever the share.
        #expect(allocate([5, 1, 1, 1], mode: .decode, n: 3) == [3, 3, 3, 3])
        #expect(BudgetAllocator.blocks(share: 0.5, pool: 21, available: 100, config: config) == 10)
        #expect(BudgetAllocator.blocks(share: 0.5, pool: 23, available: 100, config: config) == 12)
        #expect(BudgetAllocator.blocks(share: 1, pool: -8, available: 100, config: config) == 5)
    }

    @Test("decode before every history is full falls back to the uniform share")
    func notFull() {
        var hs = histories([0.1, 1, 1, 1])
        hs[3] = DensityHistory(capacity: 3); hs[3].record(1)
        #expect(BudgetAllocator.share(layer: 0, layers: 4, mode: .decode, histories: hs) == 0.25)
    }
}

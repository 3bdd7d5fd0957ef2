import Testing
@testable import ActQKV

@Suite("BlockCache")
struct BlockCacheTests {
    @Test("reserve raises the capacity, never lowers it, and evicts nothing")
    func reserve() throws {
        var cache = BlockCache<String>(capacity: 2)
        _ = try cache.admit([1, 2])
        #expect(throws: BlockCacheError.self) { _ = try cache.admit([3, 4, 5]) }
        cache.reserve(6)
        cache.reserve(3)
        #expect(cache.capacity == 6 && cache.cachedIDs == [1, 2])
        #expect(try cache.admit([3, 4, 5]).evicted.isEmpty)
    }

    @Test("LRU: fetches only missing blocks, evicts the least recently chosen unchosen ones")
    func lru() throws {
        var cache = BlockCache<String>(capacity: 4)
        var plan = try cache.admit([1, 2, 3])
        #expect(plan.fetch == [1, 2, 3] && plan.evicted.isEmpty)
        for id in plan.fetch { try cache.store(id, payload: "b\(id)") }
        plan = try cache.admit([3, 4])                 // 1, 2 older than 3
        #expect(plan.fetch == [4] && plan.evicted.isEmpty)
        try cache.store(4, payload: "b4")
        plan = try cache.admit([5, 3])                 // full: evict the oldest unchosen → 1 (ties by id)
        #expect(plan.fetch == [5] && plan.evicted == [1])
        try cache.store(5, payload: "b5")
        plan = try cache.admit([6, 7, 4])              // need 2 slots: held {2,3,4,5}; unchosen by age: 2, then 3/5 (3 and 5 same stamp) → 3
        #expect(plan.fetch == [6, 7] && plan.evicted == [2, 3])
        #expect(cache.cachedIDs == [4, 5, 6, 7])
        #expect(cache.payload(4) == "b4" && !cache.contains(6))
        #expect(cache.count <= cache.capacity)
    }

    @Test("misuse is a typed error")
    func errors() throws {
        var cache = BlockCache<Int>(capacity: 2)
        #expect(throws: BlockCacheError.tooManyChosen(chosen: 3, capacity: 2)) { _ = try cache.admit([1, 2, 3]) }
        #expect(throws: BlockCacheError.duplicateID) { _ = try cache.admit([1, 1]) }
        #expect(throws: BlockCacheError.notAdmitted(9)) { try cache.store(9, payload: 0) }
        #expect(cache.count == 0)
    }
}

/// The worker's per-layer block cache (docs/ACTQKV.md §"Block cache", strategy `lru`): holds at most
/// `capacity` blocks' payloads; each ``admit(_:)`` names the blocks chosen for one chunk, evicts the
/// least recently chosen blocks that are not chosen now, and says which chosen blocks must be fetched.
public struct BlockCache<Payload: Sendable>: Sendable {
    /// C: maximum blocks held.
    public private(set) var capacity: Int
    private var entries: [UInt64: (stamp: UInt64, payload: Payload?)] = [:]
    private var clock: UInt64 = 0

    /// What one admission changed.
    public struct Plan: Sendable, Hashable {
        /// Chosen blocks not yet held: fetch them and ``store(_:payload:)`` them. In chosen order.
        public var fetch: [UInt64]
        /// Blocks dropped to make room, least recently chosen first.
        public var evicted: [UInt64]
    }

    /// An empty cache of `capacity` (≥ 1) blocks.
    public init(capacity: Int) { self.capacity = max(capacity, 1) }

    /// Blocks currently held (with or without payload yet), ascending id.
    public var cachedIDs: [UInt64] { entries.keys.sorted() }
    /// Number of blocks held.
    public var count: Int { entries.count }
    /// Whether block `id` is held with its payload.
    public func contains(_ id: UInt64) -> Bool { entries[id]?.payload != nil }
    /// The payload of block `id`, if held.
    public func payload(_ id: UInt64) -> Payload? { entries[id]?.payload }

    /// Raises the capacity to `n` blocks when it is lower (never evicts).
    public mutating func reserve(_ n: Int) { capacity = max(capacity, n) }

    /// A copy holding only the blocks whose ids `isIncluded` keeps, with their payloads and the
    /// order in which they were last chosen.
    public func filter(_ isIncluded: (UInt64) -> Bool) -> BlockCache {
        var copy = self
        copy.entries = entries.filter { isIncluded($0.key) }
        return copy
    }

    /// Admits the blocks chosen for one chunk: evicts `|held| − C + |chosen ∉ held|` unchosen blocks
    /// (oldest choice first, ties by lower id), marks every chosen block as used now, and returns the
    /// plan. Chosen blocks without payload are listed in `fetch`.
    /// - Throws: ``BlockCacheError`` if more than C blocks are chosen or an id repeats.
    public mutating func admit(_ chosen: [UInt64]) throws(BlockCacheError) -> Plan {
        guard chosen.count <= capacity else { throw .tooManyChosen(chosen: chosen.count, capacity: capacity) }
        let set = Set(chosen)
        guard set.count == chosen.count else { throw .duplicateID }
        clock &+= 1
        let missing = chosen.filter { entries[$0] == nil }.count
        let remove = entries.count - capacity + missing
        var evicted: [UInt64] = []
        if remove > 0 {
            let candidates = entries.filter { !set.contains($0.key) }
                .sorted { $0.value.stamp != $1.value.stamp ? $0.value.stamp < $1.value.stamp : $0.key < $1.key }
            for (id, _) in candidates.prefix(remove) { entries[id] = nil; evicted.append(id) }
        }
        var fetch: [UInt64] = []
        for id in chosen {
            if let e = entries[id] {
                entries[id] = (clock, e.payload)
                if e.payload == nil { fetch.append(id) }
            } else {
                entries[id] = (clock, nil)
                fetch.append(id)
            }
        }
        return Plan(fetch: fetch, evicted: evicted)
    }

    /// Stores the fetched payload of an admitted block.
    /// - Throws: ``BlockCacheError/notAdmitted(_:)`` if `id` is not held.
    public mutating func store(_ id: UInt64, payload: Payload) throws(BlockCacheError) {
        guard let e = entries[id] else { throw .notAdmitted(id) }
        entries[id] = (e.stamp, payload)
    }
}

/// Misuse of ``BlockCache``. ``code`` is stable.
public enum BlockCacheError: Error, Sendable, Hashable {
    /// One chunk chose more blocks than the cache holds.
    case tooManyChosen(chosen: Int, capacity: Int)
    /// The chosen list names a block twice.
    case duplicateID
    /// A payload was stored for a block that is not admitted.
    case notAdmitted(UInt64)

    /// Stable numeric code (5xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .tooManyChosen: 501
        case .duplicateID: 502
        case .notAdmitted: 503
        }
    }
}

/// An open-addressing hash table from a token pair to its merge (rank and merged token), the
/// BPE inner loop's only lookup. Faster than `Dictionary` (no SipHash, no resilience checks):
/// a multiplicative hash and linear probing over a power-of-two table at most half full.
/// ``SpecialTokenTrie`` uses the same table for its edges (node and byte → child node).
struct MergeTable: Sendable {
    /// `left << 32 | right` per slot; ``emptyKey`` marks a free slot.
    private let keys: [UInt64]
    /// `rank << 32 | merged` per slot.
    private let values: [UInt64]
    private let shift: UInt64
    private let mask: Int

    /// A key no pair of non-negative `Int32` ids can produce.
    private static let emptyKey = UInt64.max

    /// Builds the table; for a pair listed twice the first entry (lowest rank) wins.
    init(_ entries: [(key: UInt64, value: UInt64)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity *= 2 }
        var keys = [UInt64](repeating: Self.emptyKey, count: capacity)
        var values = [UInt64](repeating: 0, count: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        let mask = capacity - 1
        for entry in entries {
            var slot = Self.slot(entry.key, shift)
            while keys[slot] != Self.emptyKey && keys[slot] != entry.key { slot = (slot + 1) & mask }
            if keys[slot] == Self.emptyKey {
                keys[slot] = entry.key
                values[slot] = entry.value
            }
        }
        self.keys = keys
        self.values = values
        self.shift = shift
        self.mask = mask
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value stored for `key`, or `nil`.
    @inline(__always)
    func value(for key: UInt64) -> UInt64? {
        keys.withUnsafeBufferPointer { keys in
            var slot = Self.slot(key, shift)
            while true {
                let found = keys[slot]
                if found == key { return values[slot] }
                if found == Self.emptyKey { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}

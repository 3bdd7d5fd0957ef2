/// A block's 128-bit identity. The store derives it (docs/STORAGE.md, "Block identity") from
/// the writer's owner namespace, the model fingerprint, the element type, the block size, the
/// layer and the ``PrefixHash`` of the token prefix the block ends, so two sessions over the
/// same prefix of the same model and storage shape name the same block and share it.
///
/// On the wire and on disk: 16 bytes, `high u64 LE` then `low u64 LE`.
public struct BlockID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The most significant 64 bits.
    public var high: UInt64
    /// The least significant 64 bits.
    public var low: UInt64

    /// Creates an id from its two halves.
    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Orders by `high`, then `low`.
    @inlinable
    public static func < (a: BlockID, b: BlockID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// 32 lowercase hex digits, high half first.
    public var description: String { hex128(high, low) }
}

/// A 128-bit hash of the token prefix that a block ends, computed by the worker (from the
/// tokens alone; the store mixes in the model and storage shape when it derives the
/// ``BlockID``). On the wire: 16 bytes, `high u64 LE` then `low u64 LE`.
public struct PrefixHash: Sendable, Hashable, CustomStringConvertible {
    /// The most significant 64 bits.
    public var high: UInt64
    /// The least significant 64 bits.
    public var low: UInt64

    /// Creates a hash from its two halves.
    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 32 lowercase hex digits, high half first.
    public var description: String { hex128(high, low) }
}

/// 32 lowercase hex digits: `high` then `low`, each zero-padded to 16.
func hex128(_ high: UInt64, _ low: UInt64) -> String {
    func pad(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
    return pad(high) + pad(low)
}

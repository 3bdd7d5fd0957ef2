import CoreTypes

// How the store derives and encodes block ids (docs/STORAGE.md, "Block identity").
extension BlockID {
    /// The block id of the block of `layer` that ends the token prefix hashed (by the client)
    /// to `prefixHash`, for a session with `descriptor` whose owner writes blocks into
    /// `namespace` (``BlockSharing/namespace(of:)``: the owner's uid unless an administrator
    /// put it in a sharing group).
    ///
    /// Stable and documented (docs/STORAGE.md, "Block identity"): FNV-1a-128 over the 37 bytes
    /// `namespace u32 LE ‖ fingerprint u64 LE ‖ elementType u8 ‖ blockSize u32 LE ‖ layer u32 LE ‖
    /// prefixHash.high u64 LE ‖ prefixHash.low u64 LE`. The namespace keeps owners apart: two
    /// uids never name the same block, so one can neither read nor replace the other's bytes.
    /// The element type and block size are mixed in because the same weights and prefix give
    /// different bytes for another storage type or block size.
    public static func derive(namespace: UInt32, descriptor: ModelDescriptor, layer: Int, prefixHash: PrefixHash) -> BlockID {
        var hash = FNV1a128()
        hash.add(namespace)
        hash.add(descriptor.fingerprint)
        hash.add(descriptor.elementType.rawValue)
        hash.add(UInt32(truncatingIfNeeded: descriptor.blockSize))
        hash.add(UInt32(truncatingIfNeeded: layer))
        hash.add(prefixHash.high)
        hash.add(prefixHash.low)
        return hash.value
    }

    /// The `attempt`-th alternative to this id (attempt ≥ 1): FNV-1a-128 over
    /// `high u64 LE ‖ low u64 LE ‖ attempt u32 LE`. A block whose derived id is already taken by
    /// a block with other bytes (another writer of the same namespace sent other content for the
    /// same prefix) is stored under the first free or identical alternative, so stored bytes are
    /// never replaced nor substituted (docs/STORAGE.md, "Block identity").
    public func alternative(_ attempt: UInt32) -> BlockID {
        var hash = FNV1a128()
        hash.add(high)
        hash.add(low)
        hash.add(attempt)
        return hash.value
    }

    /// The 16-byte encoding: high then low, each little-endian.
    var bytes: [UInt8] {
        var w = ByteWriter(reservingCapacity: 16)
        w.blockID(self)
        return w.bytes
    }

    /// Decodes the 16-byte encoding from `buffer` (at least 16 bytes).
    init(bytes buffer: UnsafeRawBufferPointer) {
        self.init(high: ByteCoding.uint64(buffer, at: 0), low: ByteCoding.uint64(buffer, at: 8))
    }
}

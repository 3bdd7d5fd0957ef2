import CoreTypes

/// What the store records about one stored block (for inspection, e.g. `kvctl blocks`).
public struct BlockInfo: Sendable, Equatable {
    /// The block's id.
    public var id: BlockID
    /// The layer it belongs to.
    public var layer: Int
    /// Codec tag of the stored payload (0 identity, 1 shuffle16+zstd; docs/STORAGE.md).
    public var codec: UInt8
    /// Sessions' references to it (layer-list entries naming it).
    public var referenceCount: Int
    /// Raw payload bytes.
    public var rawBytes: Int
    /// Stored payload bytes (header + body).
    public var storedBytes: Int
    /// CRC-32C of the raw payload.
    public var checksum: UInt32
    /// The prefix hash the block was first appended with; zero for blocks stored before the
    /// store kept it (block metadata version 1).
    public var prefixHash: PrefixHash

    public init(
        id: BlockID, layer: Int, codec: UInt8, referenceCount: Int, rawBytes: Int, storedBytes: Int, checksum: UInt32,
        prefixHash: PrefixHash
    ) {
        self.id = id
        self.layer = layer
        self.codec = codec
        self.referenceCount = referenceCount
        self.rawBytes = rawBytes
        self.storedBytes = storedBytes
        self.checksum = checksum
        self.prefixHash = prefixHash
    }
}

extension KVStore {
    /// The metadata of a stored block, or nil if `id` is not stored. Does not read the payload.
    public func blockInfo(_ id: BlockID) throws(StoreError) -> BlockInfo? {
        try core.withRead { (txn) throws(StoreError) in
            guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { return nil }
            let (meta, _) = try BlockMeta.decodeHeader(v)
            return meta.info(id: id)
        }
    }

    /// Writes a compacted copy of the environment (free pages omitted) to `directory` (which
    /// must exist and hold no `data.mdb`), from one read snapshot, while the store keeps
    /// serving. The copy is a complete store that `KVStore(configuration:)` can open
    /// (`mdb_env_copy2` with `MDB_CP_COMPACT`).
    public func compactCopy(to directory: String) throws(StoreError) {
        try core.enterReader()
        defer { core.leaveReader() }
        try core.lmdb.copyCompacted(to: directory)
    }
}

/// A block waiting in the upload queue, with its stored payload (codec header ‖ body, as kept).
public struct PendingUpload: Sendable, Equatable {
    public let id: BlockID
    public let stored: [UInt8]
}

/// One block's payload as ``KVStore/readPayloads(_:)`` finds it.
public enum PayloadRead: Sendable, Equatable {
    /// Held here: the raw payload, checked against its CRC-32C.
    case held([UInt8])
    /// Only the shared tier holds it: the block's metadata (raw and stored length, checksum)
    /// that a fetched copy must match.
    case remote(BlockInfo)
}

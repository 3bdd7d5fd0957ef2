/// How to open a ``KVStore``. Defaults are documented per field.
public struct StoreConfiguration: Sendable {
    /// The data directory holding the LMDB environment (`data.mdb`, `lock.mdb`); created
    /// (mode 0700) if missing.
    public var directory: String
    /// Bytes of the LMDB map (virtual address space, upper bound of the file size).
    /// Default 64 GiB. Rounded up to a multiple of 4096.
    public var mapSize: Int = 64 << 30
    /// When acknowledged writes reach disk. Default `.sync`.
    public var durability: Durability = .sync
    /// Byte limit on everything stored: compressed block payloads and checkpoints. A write that
    /// would exceed it first evicts least-recently-used unpinned sessions *of the writer's own
    /// namespace* (never another owner's), else fails with `.capacityExceeded`.
    /// Default `nil` (unlimited).
    public var capacity: Int? = nil
    /// Byte limit per owner namespace (``BlockSharing``: a uid, or a sharing group): the stored
    /// bytes of the distinct blocks its sessions wrote plus its checkpoints. A write that would
    /// exceed it first evicts the namespace's own least-recently-used unpinned sessions (not the
    /// one written to), else fails with `.quotaExceeded`. Pinned (open) sessions count too, so
    /// no owner can hold more than its quota. Default `nil` (unlimited; with several users set it,
    /// e.g. to `capacity / users`, so no owner can fill the store for the others).
    public var ownerQuota: Int? = nil
    /// Which uids share blocks (an administrator's explicit grant). Default: none.
    public var blockSharing = BlockSharing()
    /// zstd compression level of the payload codec (1...19 sensible; zstd clamps). Default 1:
    /// on real SmolLM2 K/V it compresses as well as level 3 (ratio 1.1554 against 1.1554) and
    /// encodes ≈ 13 % faster (docs/BENCHMARKS.md `## kvd`).
    public var compressionLevel: Int32 = 1
    /// Most concurrent read transactions (LMDB reader slots). Default 256.
    public var maxReaders: Int = 256
    /// Most write requests committed in one group commit. Default 256.
    public var maxBatch: Int = 256
    /// Most bytes (encoded payloads, keys, checkpoints) of the requests in one group commit
    /// (a single larger request is committed alone). Keeps a group well inside LMDB's limit of
    /// dirty pages per transaction (about 512 MiB). Default 64 MiB.
    public var maxBatchBytes: Int = 64 << 20
    /// Record every newly stored block in the upload queue (the `uploads` database, in the
    /// append's own transaction) for a shared tier to write behind: ``KVStore/pendingUploads(after:limit:maxBytes:)``,
    /// ``KVStore/markUploaded(_:)`` (docs/TIER.md). Default `false`.
    public var tracksUploads = false

    /// A configuration with defaults for `directory`.
    public init(directory: String) {
        self.directory = directory
    }
}

/// Counters of a store (a snapshot).
public struct StoreStats: Sendable, Equatable {
    /// Sessions stored.
    public var sessions: Int
    /// Distinct blocks stored (each payload once, however many sessions share it).
    public var blocks: Int
    /// Raw (decoded) payload bytes of the distinct blocks.
    public var rawBytes: Int
    /// Stored (encoded, incl. codec header) payload bytes of the distinct blocks; what
    /// `StoreConfiguration.capacity` limits together with ``checkpointBytes``.
    public var storedBytes: Int
    /// Bytes of all stored checkpoints.
    public var checkpointBytes: Int
    /// Bytes of the LMDB map in use (pages up to the last used page).
    public var mapBytesUsed: Int
    /// Bytes of the LMDB map (its configured size).
    public var mapSize: Int
    /// Sessions evicted for capacity since open.
    public var evictions: Int
    /// LMDB write transactions committed since open (group commits).
    public var commits: Int
    /// Write requests completed since open (successful or not).
    public var writeRequests: Int
    /// Sessions currently pinned.
    public var pinnedSessions: Int
    /// Explicit flushes of the map to disk (`mdb_env_sync`) by the periodic timer or `close()`;
    /// in `.sync` mode every commit is flushed by LMDB itself and is not counted here.
    public var flushes: Int
    /// Blocks in the upload queue (``StoreConfiguration/tracksUploads``) and their stored bytes.
    public var pendingUploads: Int
    public var pendingUploadBytes: Int
    /// Blocks of sessions materialised from the shared tier whose payloads are not held here
    /// yet (docs/TIER.md "Reading through"); not counted in ``blocks``, ``rawBytes`` or
    /// ``storedBytes``.
    public var remoteBlocks: Int
}

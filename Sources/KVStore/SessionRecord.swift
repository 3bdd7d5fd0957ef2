import CoreTypes

/// What the store knows about one session (a snapshot; it does not change under you).
public struct SessionRecord: Sendable, Equatable {
    /// Unique session name (1...511 UTF-8 bytes, no NUL). kvd stores `"<owner uid>/<name>"`.
    public var name: String
    /// The store's id of the session: unique for the store's lifetime, never reused (a session
    /// dropped or evicted and created again under the same name gets a new id).
    public var id: UInt64
    /// Owning user id.
    public var owner: UInt32
    /// The model the session's blocks belong to.
    public var descriptor: ModelDescriptor
    /// Blocks stored per layer (`descriptor.layers` entries).
    public var blocksPerLayer: [Int]
    /// Creation time, Unix seconds.
    public var createdAt: UInt64
    /// Last use (write or `touch`), Unix seconds.
    public var lastUsed: UInt64
    /// Stored (compressed, including the 12-byte codec header) bytes of all blocks the session
    /// references; blocks shared with other sessions are counted in each.
    public var storedBytes: Int
    /// Whether a checkpoint is stored.
    public var hasCheckpoint: Bool

    /// Memberwise initialiser.
    public init(
        name: String, id: UInt64 = 0, owner: UInt32, descriptor: ModelDescriptor, blocksPerLayer: [Int],
        createdAt: UInt64, lastUsed: UInt64, storedBytes: Int, hasCheckpoint: Bool
    ) {
        self.name = name
        self.id = id
        self.owner = owner
        self.descriptor = descriptor
        self.blocksPerLayer = blocksPerLayer
        self.createdAt = createdAt
        self.lastUsed = lastUsed
        self.storedBytes = storedBytes
        self.hasCheckpoint = hasCheckpoint
    }
}

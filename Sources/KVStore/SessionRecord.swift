/// What the store knows about one session (a snapshot; it does not change under you).
public struct SessionRecord: Sendable, Equatable {
    /// Unique session name (1...255 UTF-8 bytes, no NUL).
    public var name: String
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
        name: String, owner: UInt32, descriptor: ModelDescriptor, blocksPerLayer: [Int],
        createdAt: UInt64, lastUsed: UInt64, storedBytes: Int, hasCheckpoint: Bool
    ) {
        self.name = name
        self.owner = owner
        self.descriptor = descriptor
        self.blocksPerLayer = blocksPerLayer
        self.createdAt = createdAt
        self.lastUsed = lastUsed
        self.storedBytes = storedBytes
        self.hasCheckpoint = hasCheckpoint
    }
}

/// Hard size limits enforced by the codec before anything is allocated.
///
/// Every count read from the wire is checked twice: against the limit here (violations give
/// ``ErrorCode/limitExceeded``) and against the bytes actually left in the frame (violations
/// give ``ErrorCode/malformedFrame``). Since a frame body is bounded by ``maxFrameBytes``, no
/// decoded message can make the receiver allocate more than about one frame's size.
public struct ProtocolLimits: Sendable, Hashable {
    /// Default maximum frame size: 64 MiB (value of the frame's `length` field, i.e. bytes
    /// after the 4-byte length prefix).
    public static let defaultMaxFrameBytes: UInt32 = 64 << 20
    /// The smallest maximum frame size a peer may announce in its handshake: 64 KiB.
    public static let minimumMaxFrameBytes: UInt32 = 64 << 10
    /// The largest maximum frame size a peer may announce in its handshake: 1 GiB.
    public static let absoluteMaxFrameBytes: UInt32 = 1 << 30
    /// Maximum length of a session name in UTF-8 bytes (minimum is 1).
    public static let maxSessionNameBytes = 255
    /// Maximum length of an error message in UTF-8 bytes; encoders truncate longer ones.
    public static let maxErrorMessageBytes = 4096
    /// Maximum length of a statistics entry name in UTF-8 bytes.
    public static let maxStatNameBytes = 255
    // A model descriptor's own limits (layers, heads, head dimension, block size) are
    // CoreTypes' `ModelDescriptor.max…`, the same for the wire and the store.

    /// Maximum frame size in bytes after the length prefix. Default 64 MiB.
    public var maxFrameBytes: UInt32
    /// Maximum number of blocks in one `appendBlocks`, `fetchBlocks`, or chosen in one
    /// `retrieve` reply. Default 4096.
    public var maxBlocksPerRequest: UInt32
    /// Maximum number of held ids in one `retrieve`. Default 1 048 576.
    public var maxHeldIDs: UInt32
    /// Maximum length (elements) of a representative key, probe or question vector.
    /// Default 65 536.
    public var maxVectorDimension: UInt32
    /// Maximum number of sessions in one `sessionList` page. Default 4096.
    public var maxSessionsPerList: UInt32
    /// Maximum number of counters, and of histograms, in one `stats` reply. Default 1024.
    public var maxStatEntries: UInt32
    /// Maximum number of buckets in one histogram of a `stats` reply. Default 256.
    public var maxHistogramBuckets: UInt32

    /// Creates limits; every parameter defaults to the documented default.
    public init(
        maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes,
        maxBlocksPerRequest: UInt32 = 4096,
        maxHeldIDs: UInt32 = 1 << 20,
        maxVectorDimension: UInt32 = 1 << 16,
        maxSessionsPerList: UInt32 = 4096,
        maxStatEntries: UInt32 = 1024,
        maxHistogramBuckets: UInt32 = 256
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.maxBlocksPerRequest = maxBlocksPerRequest
        self.maxHeldIDs = maxHeldIDs
        self.maxVectorDimension = maxVectorDimension
        self.maxSessionsPerList = maxSessionsPerList
        self.maxStatEntries = maxStatEntries
        self.maxHistogramBuckets = maxHistogramBuckets
    }

    /// The documented defaults.
    public static let `default` = ProtocolLimits()
}

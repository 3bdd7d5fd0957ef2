/// The 16-bit message type of a frame.
///
/// Requests have the high bit clear, replies have it set. Every request has exactly one reply
/// (a success type listed here, or ``error``) carrying the request's id.
public enum MessageType: UInt16, Sendable, Hashable, CaseIterable {
    // Requests (client → server).
    /// Handshake opener; reply ``helloOK`` or ``error``.
    case hello = 0x0001
    /// Create a named session with a model descriptor; reply ``sessionInfo``.
    case createSession = 0x0010
    /// Open an existing session (pins it against eviction while open); reply ``sessionInfo``.
    case openSession = 0x0011
    /// Release a session opened by this connection; reply ``ok``.
    case closeSession = 0x0012
    /// List the caller's sessions, one page at a time; reply ``sessionList``.
    case listSessions = 0x0013
    /// Delete a session and its block references; reply ``ok``.
    case dropSession = 0x0014
    /// Create a session sharing a prefix of another's blocks; reply ``sessionInfo``.
    case forkSession = 0x0015
    /// Append closed blocks (any layers) to a session; reply ``appended``.
    case appendBlocks = 0x0020
    /// Score one layer's blocks against a probe and return the chosen ones; reply ``retrieved``.
    case retrieve = 0x0021
    /// Fetch stored blocks by id; reply ``blocks``.
    case fetchBlocks = 0x0022
    /// Store a checkpoint of the session; reply ``ok``.
    case putCheckpoint = 0x0030
    /// Read the session's checkpoint; reply ``checkpoint``.
    case getCheckpoint = 0x0031
    /// Server statistics; reply ``stats``.
    case stats = 0x0040
    /// Verify every stored block and reference (administrators only); reply ``verifyReport``.
    case verify = 0x0041
    /// Set the log level or re-read the configuration (administrators only); reply ``reloaded``.
    case reload = 0x0050
    /// Write a consistent hot copy of the store to a directory (administrators only); reply
    /// ``backupDone``.
    case backup = 0x0051
    /// Describe one session in detail without opening it; reply ``sessionDetail``.
    case inspectSession = 0x0052

    // Replies (server → client).
    /// Successful handshake.
    case helloOK = 0x8001
    /// Success without a body.
    case ok = 0x8002
    /// One session's description.
    case sessionInfo = 0x8010
    /// A page of session descriptions.
    case sessionList = 0x8013
    /// Ids of appended blocks.
    case appended = 0x8020
    /// Retrieval result.
    case retrieved = 0x8021
    /// Fetched blocks.
    case blocks = 0x8022
    /// A checkpoint.
    case checkpoint = 0x8031
    /// Server statistics.
    case statsReply = 0x8040
    /// Result of a store verification.
    case verifyReport = 0x8041
    /// The log level before and after a reload.
    case reloaded = 0x8050
    /// A finished backup.
    case backupDone = 0x8051
    /// One session in detail.
    case sessionDetail = 0x8052
    /// Error reply: `code u16 | message UTF-8`.
    case error = 0xFFFF

    /// True for client → server message types.
    public var isRequest: Bool { rawValue & 0x8000 == 0 }
}

import CoreTypes

/// Create a session (type `createSession`). Layout: `name | descriptor (19 bytes)`, where
/// `name` is `len u8 (1…255) | UTF-8`.
public struct CreateSession: WireBody {
    /// Session name: UTF-8, 1…255 bytes, no NUL.
    public var name: String
    /// The model whose K/V the session stores.
    public var descriptor: ModelDescriptor

    /// Creates the request.
    public init(name: String, descriptor: ModelDescriptor) {
        self.name = name
        self.descriptor = descriptor
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(name)
        descriptor.encode(into: &w)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> CreateSession {
        let name = try r.sessionName("createSession.name")
        let descriptor = try ModelDescriptor.decode(from: &r)
        try r.expectEnd("createSession")
        try descriptor.validate(limits: limits)
        return CreateSession(name: name, descriptor: descriptor)
    }
}

/// A request naming one session and nothing else: `openSession`, `closeSession`,
/// `dropSession`. Layout: `name`.
public struct SessionRequest: WireBody {
    /// Session name: UTF-8, 1…255 bytes, no NUL.
    public var name: String

    /// Creates the request.
    public init(name: String) { self.name = name }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(name)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> SessionRequest {
        let name = try r.sessionName("session.name")
        try r.expectEnd("session request")
        return SessionRequest(name: name)
    }
}

/// List the caller's sessions in name order (type `listSessions`).
/// Layout: `after len u8 (0…255) | UTF-8 | limit u32`.
public struct ListSessions: WireBody {
    /// Return names strictly greater (bytewise UTF-8) than this; empty = from the beginning.
    public var after: String
    /// Maximum sessions in the reply, 1…maxSessionsPerList (default 4096); 0 = the maximum.
    public var limit: UInt32

    /// Creates the request (defaults: from the beginning, the server's maximum page size).
    public init(after: String = "", limit: UInt32 = 0) {
        self.after = after
        self.limit = limit
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.shortString(after)
        w.u32(limit)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> ListSessions {
        let after = try r.shortString("listSessions.after")
        let limit = try r.u32("listSessions.limit")
        try r.expectEnd("listSessions")
        guard limit <= limits.maxSessionsPerList else {
            throw ProtocolError(.limitExceeded, "listSessions.limit \(limit) exceeds \(limits.maxSessionsPerList)")
        }
        return ListSessions(after: after, limit: limit)
    }
}

/// Create `target` sharing the first n blocks of every layer of `source`, with
/// n = min(`blockCount`, the fewest blocks any layer of `source` has); no block data is copied
/// (type `forkSession`).
/// Layout: `source | target | blockCount u32 | options u8 (bit 0: copyCheckpoint)`.
public struct ForkSession: WireBody {
    /// `blockCount` value meaning "every block of every layer".
    public static let allBlocks: UInt32 = .max

    /// The existing session.
    public var source: String
    /// The new session's name (must not exist).
    public var target: String
    /// Blocks per layer to share, capped at the source's shortest layer; ``allBlocks`` = as
    /// many as every layer has.
    public var blockCount: UInt32
    /// Also copy the source's checkpoint (worker state and retrieval state). Requires
    /// `blockCount == allBlocks` (else `badArgument`) and a source checkpoint (else
    /// `checkpointNotFound`).
    public var copyCheckpoint: Bool

    /// Creates the request.
    public init(source: String, target: String, blockCount: UInt32 = ForkSession.allBlocks, copyCheckpoint: Bool = false) {
        self.source = source
        self.target = target
        self.blockCount = blockCount
        self.copyCheckpoint = copyCheckpoint
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(source)
        try w.sessionName(target)
        w.u32(blockCount)
        w.u8(copyCheckpoint ? 1 : 0)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> ForkSession {
        let source = try r.sessionName("forkSession.source")
        let target = try r.sessionName("forkSession.target")
        let count = try r.u32("forkSession.blockCount")
        let options = try r.options("forkSession.options", known: 0x01)
        try r.expectEnd("forkSession")
        return ForkSession(source: source, target: target, blockCount: count, copyCheckpoint: options & 1 != 0)
    }
}

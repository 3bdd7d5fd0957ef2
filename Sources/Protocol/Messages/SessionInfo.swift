import CoreTypes

/// Description of one session (reply type `sessionInfo`, and the elements of `sessionList`).
///
/// Layout: `name | ownerUID u32 | descriptor (19) | flags u8 (bit 0: has checkpoint) |
/// checkpointSequence u64 (0 when none) | storedBytes u64 | createdAtMillis u64 |
/// lastUsedAtMillis u64 | layerCount u16 (= descriptor.layers) | blockCounts u32 × layerCount`.
public struct SessionInfo: WireBody {
    /// Session name.
    public var name: String
    /// Uid of the creator; only it (or root, by server configuration) sees the session.
    public var ownerUID: UInt32
    /// The session's model descriptor.
    public var descriptor: ModelDescriptor
    /// Chunk sequence number of the stored checkpoint; nil when the session has none.
    public var checkpointSequence: UInt64?
    /// Compressed bytes stored for this session's blocks (shared blocks are counted in every
    /// session that references them).
    public var storedBytes: UInt64
    /// Creation time, milliseconds since the Unix epoch.
    public var createdAtMillis: UInt64
    /// Last access time, milliseconds since the Unix epoch.
    public var lastUsedAtMillis: UInt64
    /// Number of blocks in each layer's list (count = descriptor.layers).
    public var blockCounts: [UInt32]

    /// Creates a description.
    public init(
        name: String, ownerUID: UInt32, descriptor: ModelDescriptor, checkpointSequence: UInt64?,
        storedBytes: UInt64, createdAtMillis: UInt64, lastUsedAtMillis: UInt64, blockCounts: [UInt32]
    ) {
        self.name = name
        self.ownerUID = ownerUID
        self.descriptor = descriptor
        self.checkpointSequence = checkpointSequence
        self.storedBytes = storedBytes
        self.createdAtMillis = createdAtMillis
        self.lastUsedAtMillis = lastUsedAtMillis
        self.blockCounts = blockCounts
    }

    /// Minimum wire size (a 1-byte name, zero layers).
    static let minimumWireBytes = 2 + 4 + ModelDescriptor.wireBytes + 1 + 8 * 4 + 2

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        guard blockCounts.count == descriptor.layers else {
            throw ProtocolError(.badArgument, "sessionInfo: \(blockCounts.count) block counts for \(descriptor.layers) layers")
        }
        try w.sessionName(name)
        w.u32(ownerUID)
        descriptor.encode(into: &w)
        w.u8(checkpointSequence == nil ? 0 : 1)
        w.u64(checkpointSequence ?? 0)
        w.u64(storedBytes)
        w.u64(createdAtMillis)
        w.u64(lastUsedAtMillis)
        w.u16(UInt16(blockCounts.count))
        for c in blockCounts { w.u32(c) }
    }

    /// Decodes one element without checking for trailing bytes.
    static func decodeElement(from r: inout WireReader) throws(ProtocolError) -> SessionInfo {
        let name = try r.sessionName("sessionInfo.name")
        let owner = try r.u32("sessionInfo.ownerUID")
        let descriptor = try ModelDescriptor.decode(from: &r)
        let flags = try r.options("sessionInfo.flags", known: 0x01)
        let sequence = try r.u64("sessionInfo.checkpointSequence")
        let stored = try r.u64("sessionInfo.storedBytes")
        let created = try r.u64("sessionInfo.createdAtMillis")
        let used = try r.u64("sessionInfo.lastUsedAtMillis")
        let layerCount = try r.u16("sessionInfo.layerCount")
        guard layerCount == descriptor.layers else {
            throw .malformed("sessionInfo.layerCount \(layerCount) ≠ descriptor.layers \(descriptor.layers)")
        }
        let n = try r.checkCount(UInt32(layerCount), "sessionInfo.layerCount", limit: UInt32(ModelDescriptor.maxLayers), minimumElementBytes: 4)
        var counts: [UInt32] = []
        counts.reserveCapacity(n)
        for _ in 0..<n { counts.append(try r.u32("sessionInfo.blockCounts")) }
        return SessionInfo(
            name: name, ownerUID: owner, descriptor: descriptor,
            checkpointSequence: flags & 1 != 0 ? sequence : nil, storedBytes: stored,
            createdAtMillis: created, lastUsedAtMillis: used, blockCounts: counts)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> SessionInfo {
        let info = try decodeElement(from: &r)
        try r.expectEnd("sessionInfo")
        return info
    }
}

/// One page of sessions (reply type `sessionList`).
/// Layout: `count u32 | SessionInfo × count | hasMore u8`.
public struct SessionList: WireBody {
    /// The sessions, in ascending bytewise name order.
    public var sessions: [SessionInfo]
    /// True when more sessions follow the last one (ask again with `after` = its name).
    public var hasMore: Bool

    /// Creates a page.
    public init(sessions: [SessionInfo], hasMore: Bool) {
        self.sessions = sessions
        self.hasMore = hasMore
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u32(UInt32(sessions.count))
        for s in sessions { try s.encode(into: &w) }
        w.bool(hasMore)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> SessionList {
        let n = try r.count("sessionList.count", limit: limits.maxSessionsPerList, minimumElementBytes: SessionInfo.minimumWireBytes)
        var sessions: [SessionInfo] = []
        sessions.reserveCapacity(n)
        for _ in 0..<n { sessions.append(try SessionInfo.decodeElement(from: &r)) }
        let more = try r.bool("sessionList.hasMore")
        try r.expectEnd("sessionList")
        return SessionList(sessions: sessions, hasMore: more)
    }
}

import CoreTypes

/// Fetch stored blocks of a session by id (type `fetchBlocks`).
/// Layout: `session | count u32 | id [16] × count`.
public struct FetchBlocks: WireBody {
    /// Session name (ids are looked up in this session only).
    public var session: String
    /// The ids wanted; 1…maxBlocksPerRequest of them.
    public var ids: [BlockID]

    /// Creates the request.
    public init(session: String, ids: [BlockID]) {
        self.session = session
        self.ids = ids
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(session)
        w.u32(UInt32(ids.count))
        for id in ids { w.blockID(id) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> FetchBlocks {
        let session = try r.sessionName("fetchBlocks.session")
        let n = try r.count("fetchBlocks.count", limit: limits.maxBlocksPerRequest, minimumElementBytes: 16)
        let ids = try r.blockIDs(count: n, "fetchBlocks.ids")
        try r.expectEnd("fetchBlocks")
        return FetchBlocks(session: session, ids: ids)
    }
}

/// A stored block with its id.
public struct StoredBlock: Sendable, Hashable {
    /// The block's id.
    public var id: BlockID
    /// The block's data as it was appended (position = its index in this session's layer list).
    public var record: BlockRecord

    /// Creates a stored block.
    public init(id: BlockID, record: BlockRecord) {
        self.id = id
        self.record = record
    }
}

/// Reply to `fetchBlocks` (type `blocks`): the blocks in request order.
/// Layout: `keyDim u32 | payloadBytes u32 | count u32 | (id [16] | BlockRecord) × count`.
public struct FetchedBlocks: WireBody {
    /// The blocks, in request order.
    public var blocks: [StoredBlock]

    /// Creates the reply.
    public init(blocks: [StoredBlock]) { self.blocks = blocks }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        let sizes = try BlockBatchSizes.of(blocks.map(\.record))
        sizes.encode(into: &w)
        for b in blocks {
            w.blockID(b.id)
            b.record.encode(into: &w)
        }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> FetchedBlocks {
        let sizes = try BlockBatchSizes.decode(from: &r, limits: limits, perRecordExtra: 16, what: "blocks")
        var blocks: [StoredBlock] = []
        blocks.reserveCapacity(sizes.count)
        for _ in 0..<sizes.count {
            let id = try r.blockID("blocks.id")
            let record = try BlockRecord.decode(from: &r, keyDim: sizes.keyDim, payloadBytes: sizes.payloadBytes)
            blocks.append(StoredBlock(id: id, record: record))
        }
        try r.expectEnd("blocks")
        return FetchedBlocks(blocks: blocks)
    }
}

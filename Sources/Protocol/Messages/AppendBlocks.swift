import CoreTypes

/// Append closed blocks, batched over layers (type `appendBlocks`).
///
/// Layout: `session | keyDim u32 | payloadBytes u32 | count u32 | BlockRecord × count`; the
/// records fill the rest of the body exactly. All blocks of a batch share `keyDim` and
/// `payloadBytes` (the session's D and payload size).
public struct AppendBlocks: WireBody {
    /// Session name.
    public var session: String
    /// The blocks, in any layer order; within a layer, in increasing position.
    public var blocks: [BlockRecord]

    /// Creates the request.
    public init(session: String, blocks: [BlockRecord]) {
        self.session = session
        self.blocks = blocks
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(session)
        let sizes = try BlockBatchSizes.of(blocks)
        sizes.encode(into: &w)
        for b in blocks { b.encode(into: &w) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> AppendBlocks {
        let session = try r.sessionName("appendBlocks.session")
        let sizes = try BlockBatchSizes.decode(from: &r, limits: limits, perRecordExtra: 0, what: "appendBlocks")
        var blocks: [BlockRecord] = []
        blocks.reserveCapacity(sizes.count)
        for _ in 0..<sizes.count {
            blocks.append(try BlockRecord.decode(from: &r, keyDim: sizes.keyDim, payloadBytes: sizes.payloadBytes))
        }
        try r.expectEnd("appendBlocks")
        return AppendBlocks(session: session, blocks: blocks)
    }
}

/// Reply to `appendBlocks` (type `appended`): the ids of the appended blocks, in request
/// order. Layout: `count u32 | id [16] × count`.
public struct Appended: WireBody {
    /// One id per appended block, in request order.
    public var ids: [BlockID]

    /// Creates the reply.
    public init(ids: [BlockID]) { self.ids = ids }

    func encode(into w: inout ByteWriter) {
        w.u32(UInt32(ids.count))
        for id in ids { w.blockID(id) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> Appended {
        let n = try r.count("appended.count", limit: limits.maxBlocksPerRequest, minimumElementBytes: 16)
        let ids = try r.blockIDs(count: n, "appended.ids")
        try r.expectEnd("appended")
        return Appended(ids: ids)
    }
}

import CoreTypes

/// Store a checkpoint of a session at a chunk boundary (type `putCheckpoint`).
///
/// The server stores the worker's opaque state together with a snapshot of its own
/// retrieval state for the session, replacing any previous checkpoint. Layout:
/// `session | chunkSequence u64 | tokenCount u64 | workerStateLength u32 | workerState`.
public struct PutCheckpoint: WireBody {
    /// Session name.
    public var session: String
    /// Sequence number of the next execution chunk after the checkpoint.
    public var chunkSequence: UInt64
    /// Tokens of the sequence processed at the checkpoint.
    public var tokenCount: UInt64
    /// The worker's window state (sink, local window, remainder, …), opaque to the server.
    public var workerState: ArraySlice<UInt8>

    /// Creates the request.
    public init(session: String, chunkSequence: UInt64, tokenCount: UInt64, workerState: ArraySlice<UInt8>) {
        self.session = session
        self.chunkSequence = chunkSequence
        self.tokenCount = tokenCount
        self.workerState = workerState
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(session)
        w.u64(chunkSequence)
        w.u64(tokenCount)
        try w.byteString(workerState)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> PutCheckpoint {
        let session = try r.sessionName("putCheckpoint.session")
        let sequence = try r.u64("putCheckpoint.chunkSequence")
        let tokens = try r.u64("putCheckpoint.tokenCount")
        let state = try r.byteString("putCheckpoint.workerState")
        try r.expectEnd("putCheckpoint")
        return PutCheckpoint(session: session, chunkSequence: sequence, tokenCount: tokens, workerState: state)
    }
}

/// Read a session's checkpoint (type `getCheckpoint`).
/// Layout: `session | options u8 (bit 0: restore)`.
public struct GetCheckpoint: WireBody {
    /// Session name.
    public var session: String
    /// Also reset the session's server-side retrieval state to the checkpoint's snapshot, so
    /// that retrieval continues exactly as after the checkpointed chunk.
    public var restore: Bool

    /// Creates the request.
    public init(session: String, restore: Bool = false) {
        self.session = session
        self.restore = restore
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        try w.sessionName(session)
        w.u8(restore ? 1 : 0)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> GetCheckpoint {
        let session = try r.sessionName("getCheckpoint.session")
        let options = try r.options("getCheckpoint.options", known: 0x01)
        try r.expectEnd("getCheckpoint")
        return GetCheckpoint(session: session, restore: options & 1 != 0)
    }
}

/// Reply to `getCheckpoint` (type `checkpoint`).
/// Layout: `chunkSequence u64 | tokenCount u64 | workerStateLength u32 | workerState |
/// retrievalStateLength u32 | retrievalState`.
public struct Checkpoint: WireBody {
    /// As stored by `putCheckpoint`.
    public var chunkSequence: UInt64
    /// As stored by `putCheckpoint`.
    public var tokenCount: UInt64
    /// The worker's opaque state, byte-identical to what was put.
    public var workerState: ArraySlice<UInt8>
    /// The server's retrieval-state snapshot (informational; its format is the server's).
    public var retrievalState: ArraySlice<UInt8>

    /// Creates the reply.
    public init(chunkSequence: UInt64, tokenCount: UInt64, workerState: ArraySlice<UInt8>, retrievalState: ArraySlice<UInt8>) {
        self.chunkSequence = chunkSequence
        self.tokenCount = tokenCount
        self.workerState = workerState
        self.retrievalState = retrievalState
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u64(chunkSequence)
        w.u64(tokenCount)
        try w.byteString(workerState)
        try w.byteString(retrievalState)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> Checkpoint {
        let sequence = try r.u64("checkpoint.chunkSequence")
        let tokens = try r.u64("checkpoint.tokenCount")
        let worker = try r.byteString("checkpoint.workerState")
        let retrieval = try r.byteString("checkpoint.retrievalState")
        try r.expectEnd("checkpoint")
        return Checkpoint(chunkSequence: sequence, tokenCount: tokens, workerState: worker, retrievalState: retrieval)
    }
}

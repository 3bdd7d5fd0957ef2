import CoreTypes

/// Every message of protocol version 1, requests and replies.
///
/// Encode with ``encodeFrame(requestID:flags:maxFrameBytes:)``; decode a split ``Frame`` with
/// ``decode(_:limits:)``. Decoding validates every count against the limits and the frame's
/// length before allocating, rejects trailing bytes, and throws typed ``ProtocolError``s.
public enum Message: Sendable, Hashable {
    // Requests.
    /// Handshake opener.
    case hello(Hello)
    /// Create a session.
    case createSession(CreateSession)
    /// Open a session (pins it while this connection is open).
    case openSession(SessionRequest)
    /// Release a session opened by this connection.
    case closeSession(SessionRequest)
    /// List sessions.
    case listSessions(ListSessions)
    /// Drop a session.
    case dropSession(SessionRequest)
    /// Fork a session.
    case forkSession(ForkSession)
    /// Append blocks.
    case appendBlocks(AppendBlocks)
    /// Retrieve blocks for one layer.
    case retrieve(RetrieveRequest)
    /// Fetch blocks by id.
    case fetchBlocks(FetchBlocks)
    /// Store a checkpoint.
    case putCheckpoint(PutCheckpoint)
    /// Read a checkpoint.
    case getCheckpoint(GetCheckpoint)
    /// Ask for statistics (empty body).
    case statsRequest
    /// Verify the store (administrators only).
    case verify(VerifyRequest)
    /// Set the log level or re-read the configuration (administrators only).
    case reload(ReloadRequest)
    /// Write a hot copy of the store (administrators only).
    case backup(BackupRequest)
    /// Describe one session without opening it.
    case inspectSession(InspectSessionRequest)

    // Replies.
    /// Handshake accepted.
    case helloOK(HelloOK)
    /// Success without data (empty body).
    case ok
    /// One session.
    case sessionInfo(SessionInfo)
    /// A page of sessions.
    case sessionList(SessionList)
    /// Ids of appended blocks.
    case appended(Appended)
    /// Retrieval result.
    case retrieved(RetrieveResult)
    /// Fetched blocks.
    case blocks(FetchedBlocks)
    /// A checkpoint.
    case checkpoint(Checkpoint)
    /// Statistics.
    case stats(Stats)
    /// Result of a store verification.
    case verifyReport(VerifyReportReply)
    /// The log level before and after a reload.
    case reloaded(ReloadReply)
    /// A finished backup.
    case backupDone(BackupReply)
    /// One session in detail.
    case sessionDetail(SessionDetail)
    /// An error reply.
    case error(ProtocolError)

    /// The frame type of this message.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .createSession: .createSession
        case .openSession: .openSession
        case .closeSession: .closeSession
        case .listSessions: .listSessions
        case .dropSession: .dropSession
        case .forkSession: .forkSession
        case .appendBlocks: .appendBlocks
        case .retrieve: .retrieve
        case .fetchBlocks: .fetchBlocks
        case .putCheckpoint: .putCheckpoint
        case .getCheckpoint: .getCheckpoint
        case .statsRequest: .stats
        case .verify: .verify
        case .reload: .reload
        case .backup: .backup
        case .inspectSession: .inspectSession
        case .helloOK: .helloOK
        case .ok: .ok
        case .sessionInfo: .sessionInfo
        case .sessionList: .sessionList
        case .appended: .appended
        case .retrieved: .retrieved
        case .blocks: .blocks
        case .checkpoint: .checkpoint
        case .stats: .statsReply
        case .verifyReport: .verifyReport
        case .reloaded: .reloaded
        case .backupDone: .backupDone
        case .sessionDetail: .sessionDetail
        case .error: .error
        }
    }

    private func encodeBody(into w: inout ByteWriter) throws(ProtocolError) {
        switch self {
        case .hello(let m): m.encode(into: &w)
        case .createSession(let m): try m.encode(into: &w)
        case .openSession(let m), .closeSession(let m), .dropSession(let m): try m.encode(into: &w)
        case .listSessions(let m): try m.encode(into: &w)
        case .forkSession(let m): try m.encode(into: &w)
        case .appendBlocks(let m): try m.encode(into: &w)
        case .retrieve(let m): try m.encode(into: &w)
        case .fetchBlocks(let m): try m.encode(into: &w)
        case .putCheckpoint(let m): try m.encode(into: &w)
        case .getCheckpoint(let m): try m.encode(into: &w)
        case .statsRequest, .ok: break
        case .helloOK(let m): m.encode(into: &w)
        case .sessionInfo(let m): try m.encode(into: &w)
        case .sessionList(let m): try m.encode(into: &w)
        case .appended(let m): m.encode(into: &w)
        case .retrieved(let m): try m.encode(into: &w)
        case .blocks(let m): try m.encode(into: &w)
        case .checkpoint(let m): try m.encode(into: &w)
        case .stats(let m): try m.encode(into: &w)
        case .verify(let m): try m.encode(into: &w)
        case .verifyReport(let m): try m.encode(into: &w)
        case .reload(let m): try m.encode(into: &w)
        case .backup(let m): try m.encode(into: &w)
        case .inspectSession(let m): try m.encode(into: &w)
        case .reloaded(let m): try m.encode(into: &w)
        case .backupDone(let m): try m.encode(into: &w)
        case .sessionDetail(let m): try m.encode(into: &w)
        case .error(let m): m.encode(into: &w)
        }
    }

    /// Rough body size, to reserve the output buffer once.
    private var sizeHint: Int {
        switch self {
        case .appendBlocks(let m):
            m.blocks.reduce(64) { $0 + 22 + 4 * $1.representativeKey.count + $1.payload.count }
        case .retrieved(let m):
            m.payloads.reduce(64 + 20 * m.chosen.count) { $0 + 4 + $1.payload.count }
        case .blocks(let m):
            m.blocks.reduce(64) { $0 + 38 + 4 * $1.record.representativeKey.count + $1.record.payload.count }
        case .retrieve(let m):
            64 + 8 * m.probe.count + 16 * m.heldIDs.count
        case .putCheckpoint(let m): 64 + m.workerState.count
        case .checkpoint(let m): 64 + m.workerState.count + m.retrievalState.count
        default: 256
        }
    }

    /// The complete frame (16-byte header + body) for this message.
    ///
    /// - Parameters:
    ///   - requestID: the id to put in the header (a reply uses its request's id).
    ///   - flags: header flags (reserved; 0).
    ///   - maxFrameBytes: the receiver's maximum `length`; a larger frame throws
    ///     ``ErrorCode/frameTooLarge`` and nothing is sent.
    /// - Throws: ``ErrorCode/badArgument`` for a field that cannot be encoded (invalid
    ///   session name, inconsistent batch sizes, …), ``ErrorCode/frameTooLarge``.
    public func encodeFrame(
        requestID: UInt64, flags: UInt16 = 0, maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes
    ) throws(ProtocolError) -> [UInt8] {
        var w = ByteWriter(reservingCapacity: FrameHeader.byteCount + sizeHint)
        w.raw(repeatElement(0, count: FrameHeader.byteCount))
        try encodeBody(into: &w)
        let length = w.bytes.count - FrameHeader.lengthFieldBytes
        guard length <= Int(maxFrameBytes) else {
            throw ProtocolError(.frameTooLarge, "\(type) frame of \(length) bytes exceeds the maximum \(maxFrameBytes)")
        }
        var header: [UInt8] = []
        FrameHeader(length: UInt32(length), rawType: type.rawValue, flags: flags, requestID: requestID).encode(into: &header)
        w.bytes.replaceSubrange(0..<FrameHeader.byteCount, with: header)
        return w.bytes
    }

    /// Decodes a frame a client received: a request type (bit 15 clear) is
    /// ``ErrorCode/unexpectedMessage`` (a server sends only replies, §6), anything else as
    /// ``decode(_:limits:)``. The client's one check of a reply's type and body.
    public static func decodeReply(_ frame: Frame, limits: ProtocolLimits = .default) throws(ProtocolError) -> Message {
        if let type = frame.type, type.isRequest {
            throw ProtocolError(.unexpectedMessage, "the server sent a \(type) request")
        }
        return try decode(frame, limits: limits)
    }

    /// Decodes a frame's body according to its type.
    ///
    /// - Throws: ``ErrorCode/unknownMessageType`` for an unknown type; otherwise the body's
    ///   validation errors (``ErrorCode/malformedFrame``, ``ErrorCode/limitExceeded``,
    ///   ``ErrorCode/badArgument``, ``ErrorCode/badMagic`` for a `hello`).
    public static func decode(_ frame: Frame, limits: ProtocolLimits = .default) throws(ProtocolError) -> Message {
        guard let type = frame.type else {
            throw ProtocolError(.unknownMessageType, "message type 0x\(String(frame.rawType, radix: 16)) is unknown")
        }
        var r = WireReader(frame.body)
        switch type {
        case .hello: return .hello(try Hello.decode(from: &r, limits: limits))
        case .createSession: return .createSession(try CreateSession.decode(from: &r, limits: limits))
        case .openSession: return .openSession(try SessionRequest.decode(from: &r, limits: limits))
        case .closeSession: return .closeSession(try SessionRequest.decode(from: &r, limits: limits))
        case .listSessions: return .listSessions(try ListSessions.decode(from: &r, limits: limits))
        case .dropSession: return .dropSession(try SessionRequest.decode(from: &r, limits: limits))
        case .forkSession: return .forkSession(try ForkSession.decode(from: &r, limits: limits))
        case .appendBlocks: return .appendBlocks(try AppendBlocks.decode(from: &r, limits: limits))
        case .retrieve: return .retrieve(try RetrieveRequest.decode(from: &r, limits: limits))
        case .fetchBlocks: return .fetchBlocks(try FetchBlocks.decode(from: &r, limits: limits))
        case .putCheckpoint: return .putCheckpoint(try PutCheckpoint.decode(from: &r, limits: limits))
        case .getCheckpoint: return .getCheckpoint(try GetCheckpoint.decode(from: &r, limits: limits))
        case .stats:
            try r.expectEnd("stats request")
            return .statsRequest
        case .verify: return .verify(try VerifyRequest.decode(from: &r, limits: limits))
        case .helloOK: return .helloOK(try HelloOK.decode(from: &r, limits: limits))
        case .ok:
            try r.expectEnd("ok")
            return .ok
        case .sessionInfo: return .sessionInfo(try SessionInfo.decode(from: &r, limits: limits))
        case .sessionList: return .sessionList(try SessionList.decode(from: &r, limits: limits))
        case .appended: return .appended(try Appended.decode(from: &r, limits: limits))
        case .retrieved: return .retrieved(try RetrieveResult.decode(from: &r, limits: limits))
        case .blocks: return .blocks(try FetchedBlocks.decode(from: &r, limits: limits))
        case .checkpoint: return .checkpoint(try Checkpoint.decode(from: &r, limits: limits))
        case .statsReply: return .stats(try Stats.decode(from: &r, limits: limits))
        case .verifyReport: return .verifyReport(try VerifyReportReply.decode(from: &r, limits: limits))
        case .reload: return .reload(try ReloadRequest.decode(from: &r, limits: limits))
        case .backup: return .backup(try BackupRequest.decode(from: &r, limits: limits))
        case .inspectSession: return .inspectSession(try InspectSessionRequest.decode(from: &r, limits: limits))
        case .reloaded: return .reloaded(try ReloadReply.decode(from: &r, limits: limits))
        case .backupDone: return .backupDone(try BackupReply.decode(from: &r, limits: limits))
        case .sessionDetail: return .sessionDetail(try SessionDetail.decode(from: &r, limits: limits))
        case .error: return .error(try ProtocolError.decode(from: &r, limits: limits))
        }
    }
}

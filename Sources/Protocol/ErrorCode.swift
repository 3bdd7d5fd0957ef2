/// Stable numeric error codes carried in `error` frames (message type `0xFFFF`).
///
/// The raw values are part of the wire contract (docs/PROTOCOL.md §7) and never change
/// meaning. New codes may be added; a receiver that sees a code it does not know treats it
/// as ``internal`` (the ``ErrorReply`` decoder does this and keeps the raw value in the
/// message text).
public enum ErrorCode: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // MARK: Framing and handshake (1–9)

    /// The frame or its body does not follow the documented layout: a length field below the
    /// header size, a count inconsistent with the bytes that follow, trailing bytes, a
    /// truncated field.
    case malformedFrame = 1
    /// A frame's length field exceeds the receiver's negotiated maximum frame size.
    case frameTooLarge = 2
    /// The `hello` names a protocol version this server does not speak.
    case unsupportedVersion = 3
    /// The `hello` does not start with the magic bytes `"KVD\0"`.
    case badMagic = 4
    /// The message type is not one this receiver knows.
    case unknownMessageType = 5
    /// A request arrived before a successful handshake.
    case handshakeRequired = 6
    /// A known message type that is not valid here: a second `hello`, or a reply type sent
    /// as a request.
    case unexpectedMessage = 7
    /// A count or size in the request exceeds a documented limit (blocks per request, held
    /// ids, vector dimension, sessions per page, …).
    case limitExceeded = 8

    // MARK: Sessions and blocks (10–19)

    /// No session with that name is visible to the caller.
    case sessionNotFound = 10
    /// `createSession` or `forkSession` named a session that already exists.
    case sessionExists = 11
    /// The caller's uid may not access that session.
    case permissionDenied = 12
    /// The request's model descriptor differs from the session's.
    case descriptorMismatch = 13
    /// A vector or payload length does not match the session's descriptor (representative
    /// key or probe length ≠ queryHeads·headDim, payload ≠ 2·kvHeads·blockSize·headDim·2).
    case wrongDimensions = 14
    /// An appended block's position is not the next free index of its layer, or a layer
    /// index is out of range.
    case badPosition = 15
    /// A requested block id does not exist in the session.
    case blockNotFound = 16
    /// `getCheckpoint` on a session that has none.
    case checkpointNotFound = 17
    /// The session is held open by another connection and cannot be dropped now.
    case sessionBusy = 18

    // MARK: Storage (20–29)

    /// The storage map is full; nothing of the request was written.
    case storageFull = 20
    /// The configured byte capacity is reached and nothing can be evicted.
    case capacityExceeded = 21
    /// The storage engine reported an error; nothing of the request was written.
    case storageError = 22
    /// The owner's quota (`--owner-quota`) is reached and none of its own unpinned sessions can
    /// be evicted; nothing of the request was written.
    case quotaExceeded = 23

    // MARK: Arguments (30–39)

    /// A field has a value outside its documented domain (empty or invalid session name,
    /// unknown retrieval method, invalid descriptor, …).
    case badArgument = 30

    // MARK: Server state (40–49)

    /// The server is shutting down and accepts no new requests.
    case shuttingDown = 40
    /// The server has too many requests in flight on this connection; retry later.
    case overloaded = 41
    /// The daemon's connection limit (global or for the peer's uid) is reached; the connection
    /// is closed after this notice (request id 0).
    case tooManyConnections = 42
    /// The connection sent no `hello` within the handshake timeout, or no request within the
    /// idle timeout; it is closed after this notice (request id 0).
    case connectionTimedOut = 43

    // MARK: Other (50)

    /// An unexpected server-side failure.
    case `internal` = 50

    /// The symbolic name used in docs/PROTOCOL.md.
    public var description: String {
        switch self {
        case .malformedFrame: "malformedFrame"
        case .frameTooLarge: "frameTooLarge"
        case .unsupportedVersion: "unsupportedVersion"
        case .badMagic: "badMagic"
        case .unknownMessageType: "unknownMessageType"
        case .handshakeRequired: "handshakeRequired"
        case .unexpectedMessage: "unexpectedMessage"
        case .limitExceeded: "limitExceeded"
        case .sessionNotFound: "sessionNotFound"
        case .sessionExists: "sessionExists"
        case .permissionDenied: "permissionDenied"
        case .descriptorMismatch: "descriptorMismatch"
        case .wrongDimensions: "wrongDimensions"
        case .badPosition: "badPosition"
        case .blockNotFound: "blockNotFound"
        case .checkpointNotFound: "checkpointNotFound"
        case .sessionBusy: "sessionBusy"
        case .storageFull: "storageFull"
        case .capacityExceeded: "capacityExceeded"
        case .storageError: "storageError"
        case .quotaExceeded: "quotaExceeded"
        case .badArgument: "badArgument"
        case .shuttingDown: "shuttingDown"
        case .overloaded: "overloaded"
        case .tooManyConnections: "tooManyConnections"
        case .connectionTimedOut: "connectionTimedOut"
        case .internal: "internal"
        }
    }

    /// Whether the connection is closed after an error of this code is sent. Framing errors
    /// (`frameTooLarge`, a length field below the header size), handshake failures and
    /// `shuttingDown`, `tooManyConnections` and `connectionTimedOut` close the connection; all
    /// others leave it open.
    public var closesConnection: Bool {
        switch self {
        case .frameTooLarge, .unsupportedVersion, .badMagic, .handshakeRequired, .shuttingDown, .tooManyConnections,
            .connectionTimedOut:
            true
        default:
            false
        }
    }
}

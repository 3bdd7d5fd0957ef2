import Protocol

/// Errors of ``KVClient`` calls. Every failure is one of these; no call hangs on a lost
/// connection.
public enum KVClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered the request with an error frame; its stable code is in the
    /// ``ProtocolError``.
    case server(ProtocolError)
    /// The socket could not be created or connected (`errno` value and its text).
    case connectFailed(path: String, errno: Int32, reason: String)
    /// The connection was closed or lost before the reply arrived (the server exited or
    /// closed it, a read or write failed, or ``KVClient/close()`` was called). When the
    /// server sent a connection-level error before closing, it is in `serverError` (and in
    /// ``code``): `shuttingDown`, `tooManyConnections` (a connection limit of the daemon is
    /// reached — ``KVClient/connect(socketPath:configuration:)`` throws this), or
    /// `connectionTimedOut` (no `hello` within the daemon's handshake timeout, or no request
    /// within its idle timeout; ``KVClient/reconnect()`` or
    /// ``KVClientConfiguration/reconnectAutomatically`` go on). The request may or may not have
    /// been executed.
    case connectionClosed(reason: String, serverError: ProtocolError?)
    /// The server sent bytes that violate the protocol (malformed frame or body, a reply of
    /// the wrong type, an unusable handshake).
    case protocolViolation(ProtocolError)
    /// The request could not be encoded and was not sent (invalid session name, more blocks
    /// or a larger frame than the server accepts, …).
    case invalidRequest(ProtocolError)
    /// The calling task was cancelled while waiting; the request may still be executed.
    case cancelled

    /// The protocol error code behind this error, when there is one.
    public var code: ErrorCode? {
        switch self {
        case .server(let e), .protocolViolation(let e), .invalidRequest(let e): e.code
        case .connectionClosed(_, let e): e?.code
        case .connectFailed, .cancelled: nil
        }
    }

    /// True when kvd refused a write for want of room: its capacity or the owner's quota is
    /// reached and nothing it may evict is left.
    public var isStorageFull: Bool { code == .capacityExceeded || code == .quotaExceeded }

    /// True when the connection is unusable and ``KVClient/reconnect()`` is needed.
    public var isConnectionLoss: Bool {
        switch self {
        case .connectionClosed, .connectFailed: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .server(let e): "server error: \(e)"
        case .connectFailed(let path, let errno, let reason): "cannot connect to \(path): \(reason) (errno \(errno))"
        case .connectionClosed(let reason, let e): "connection closed: \(reason)" + (e.map { " (server: \($0))" } ?? "")
        case .protocolViolation(let e): "protocol violation by the server: \(e)"
        case .invalidRequest(let e): "invalid request: \(e)"
        case .cancelled: "cancelled"
        }
    }
}

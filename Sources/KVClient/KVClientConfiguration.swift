import Protocol

/// Settings of a ``KVClient``.
public struct KVClientConfiguration: Sendable, Hashable {
    /// The largest frame (bytes after the length prefix) the client accepts from the server,
    /// announced in the handshake; 64 KiB…1 GiB. Default 64 MiB.
    public var maxFrameBytes: UInt32
    /// Bytes read from the socket per `recv` call. Default 256 KiB.
    public var receiveBufferBytes: Int
    /// When true, a call made after the connection was lost first reconnects (once) instead
    /// of failing with ``KVClientError/connectionClosed(reason:serverError:)``. Calls that were
    /// in flight when the connection was lost still fail; they are never retried. Default false.
    public var reconnectAutomatically: Bool
    /// When true, ``KVClient/reconnect()`` re-opens the sessions this client had created,
    /// opened or forked (and not closed or dropped), so they are held open again. Default true.
    public var reopenSessionsOnReconnect: Bool
    /// Microseconds a call on an otherwise idle connection busy-polls the socket for its own
    /// reply on the calling thread (one core busy) before it suspends and leaves the reply to
    /// the I/O thread. A reply inside this budget costs no thread wake-up in this process
    /// (each costs about 25 µs on a 2-core VM); a slower one costs the budget in CPU time.
    /// 0 turns it off. Default 150.
    public var inlineReadMicroseconds: Int
    /// How long ``KVClient/connect(socketPath:configuration:)`` (and a reconnect) waits for the
    /// daemon's answer to `hello` before it gives up with
    /// ``KVClientError/connectionClosed(reason:serverError:)``: for a caller that must tell a
    /// daemon that accepts connections but does not answer (stopped, hung) from a slow one.
    /// Default nil: wait — a daemon on a loaded machine, or one still opening a large store
    /// behind its bound socket, may take minutes, and a worker should not give up on it.
    public var handshakeTimeout: Duration?

    /// Creates a configuration; every parameter defaults to the documented default.
    public init(
        maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes,
        receiveBufferBytes: Int = 256 << 10,
        reconnectAutomatically: Bool = false,
        reopenSessionsOnReconnect: Bool = true,
        inlineReadMicroseconds: Int = 150,
        handshakeTimeout: Duration? = nil
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.receiveBufferBytes = receiveBufferBytes
        self.reconnectAutomatically = reconnectAutomatically
        self.reopenSessionsOnReconnect = reopenSessionsOnReconnect
        self.inlineReadMicroseconds = inlineReadMicroseconds
        self.handshakeTimeout = handshakeTimeout
    }
}

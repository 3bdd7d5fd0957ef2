import CoreTypes
import Dispatch
import Protocol

/// An async client for `kvd` over its Unix-domain socket (docs/PROTOCOL.md).
///
/// - Pipelining: any number of tasks may call into one client at the same time; requests are
///   written in the order they are enqueued on one connection and replies are matched by
///   request id, so many requests are in flight at once. ``submit(_:)`` and
///   ``submitAppendBlocks(session:blocks:)`` enqueue synchronously and return a
///   ``PendingReply``, for "send now, check the answer later".
/// - Failure: when the connection is lost, every waiting call fails with
///   ``KVClientError/connectionClosed(reason:serverError:)``; no call hangs. Later calls fail
///   the same way until ``reconnect()`` (or, with
///   ``KVClientConfiguration/reconnectAutomatically``, reconnect by themselves).
/// - Sessions held open are per connection: after a reconnect the client re-opens the ones
///   it had created, opened or forked (``KVClientConfiguration/reopenSessionsOnReconnect``).
///
/// I/O runs on one dedicated thread per connection with plain POSIX calls (no NIO); no
/// cooperative-pool thread ever blocks on the socket.
public final class KVClient: Sendable {
    /// The socket path this client connects to.
    public let socketPath: String
    /// The client's settings.
    public let configuration: KVClientConfiguration

    private struct Current {
        var connection: Connection
        var server: HelloOK
    }

    private let current: Locked<Current>
    private let heldSessions = Locked<Set<String>>([])
    private let reconnection = Locked<Task<Result<Void, KVClientError>, Never>?>(nil)

    private init(socketPath: String, configuration: KVClientConfiguration, connection: Connection, server: HelloOK) {
        self.socketPath = socketPath
        self.configuration = configuration
        self.current = Locked(Current(connection: connection, server: server))
    }

    deinit {
        current.withLock { $0.connection.close() }
    }

    /// Connects to the daemon at `socketPath` and performs the handshake.
    ///
    /// - Throws: ``KVClientError/connectFailed(path:errno:reason:)`` when nothing listens
    ///   there; ``KVClientError/server(_:)`` when the server refuses the handshake (e.g.
    ///   `unsupportedVersion`); ``KVClientError/connectionClosed(reason:serverError:)`` with
    ///   `serverError` `tooManyConnections` when the daemon's connection limit (global or for
    ///   this uid) is reached, and without one when the daemon does not answer the handshake
    ///   within ``KVClientConfiguration/handshakeTimeout`` (when set); ``KVClientError/invalidRequest(_:)`` for a
    ///   ``KVClientConfiguration/maxFrameBytes`` outside 64 KiB…1 GiB.
    public static func connect(
        socketPath: String, configuration: KVClientConfiguration = KVClientConfiguration()
    ) async throws(KVClientError) -> KVClient {
        let (connection, server) = try await handshake(socketPath: socketPath, configuration: configuration)
        return KVClient(socketPath: socketPath, configuration: configuration, connection: connection, server: server)
    }

    private static func handshake(
        socketPath: String, configuration: KVClientConfiguration
    ) async throws(KVClientError) -> (Connection, HelloOK) {
        guard (ProtocolLimits.minimumMaxFrameBytes...ProtocolLimits.absoluteMaxFrameBytes).contains(configuration.maxFrameBytes) else {
            throw .invalidRequest(ProtocolError(.badArgument, "maxFrameBytes \(configuration.maxFrameBytes) not in 64 KiB…1 GiB"))
        }
        let connection = try Connection.open(socketPath: socketPath, configuration: configuration)
        // The timer is a thread of its own, not a task: it must fire in a process whose
        // cooperative threads are all busy computing.
        let answered = DispatchSemaphore(value: 0)
        if let timeout = configuration.handshakeTimeout {
            _ = startThread {
                if answered.wait(timeout: .now() + .nanoseconds(timeout.wholeNanoseconds)) == .timedOut {
                    connection.close(reason: "the daemon at \(socketPath) accepted the connection but did not answer the handshake within \(timeout) (stopped or hung?)")
                }
            }
        }
        defer { answered.signal() }
        let reply = await connection.request(.hello(Hello(version: ProtocolVersion.current, maxFrameBytes: configuration.maxFrameBytes)))
        switch reply {
        case .success(.helloOK(let ok)) where ProtocolVersion.supported.contains(ok.version):
            connection.configure(server: ok)
            return (connection, ok)
        case .success(let other):
            connection.close(reason: "handshake failed")
            throw .protocolViolation(ProtocolError(.unexpectedMessage, "handshake answered with \(other.type)"))
        case .failure(let error):
            connection.close(reason: "handshake failed")
            throw error
        }
    }

    /// The server's handshake answer on the current connection (its limits and the uid it
    /// sees for this process).
    public var server: HelloOK { current.withLock { $0.server } }

    /// Whether the current connection is open.
    public var isConnected: Bool { current.withLock { !$0.connection.isClosed } }

    /// Closes the connection. Calls still waiting fail with
    /// ``KVClientError/connectionClosed(reason:serverError:)``; sessions held open by this
    /// connection are released by the server. ``reconnect()`` may be used afterwards.
    public func close() {
        current.withLock { $0.connection.close() }
    }

    /// Replaces the connection with a new one to the same socket (closing the old one first;
    /// its waiting calls fail) and re-opens the sessions this client holds, if configured.
    ///
    /// - Throws: the connection or handshake error; a session that can no longer be opened is
    ///   forgotten, not an error.
    public func reconnect() async throws(KVClientError) {
        current.withLock { $0.connection.close(reason: "reconnecting") }
        let (connection, server) = try await Self.handshake(socketPath: socketPath, configuration: configuration)
        current.withLock { $0 = Current(connection: connection, server: server) }
        guard configuration.reopenSessionsOnReconnect else {
            heldSessions.withLock { $0.removeAll() }
            return
        }
        let names = heldSessions.withLock { $0 }
        for name in names.sorted() {
            let result = await connection.request(.openSession(SessionRequest(name: name)))
            if case .failure(let error) = result {
                if error.isConnectionLoss { throw error }
                _ = heldSessions.withLock { $0.remove(name) }
            }
        }
    }

    /// Sends any request and returns its reply (error replies are thrown as
    /// ``KVClientError/server(_:)``). The typed calls are built on this.
    public func send(_ message: Message) async throws(KVClientError) -> Message {
        var connection = current.withLock { $0.connection }
        if connection.isClosed && configuration.reconnectAutomatically {
            try await reconnectOnce(replacing: connection)
            connection = current.withLock { $0.connection }
        }
        return try await connection.request(message).get()
    }

    /// Automatic reconnect shared by concurrent callers: the first caller that finds
    /// `old` closed reconnects, the others wait for that attempt instead of starting their own.
    private func reconnectOnce(replacing old: Connection) async throws(KVClientError) {
        let attempt = reconnection.withLock { pending -> Task<Result<Void, KVClientError>, Never> in
            if let pending { return pending }
            let task = Task { [self] () -> Result<Void, KVClientError> in
                guard currentConnection === old else { return .success(()) }
                do throws(KVClientError) {
                    try await reconnect()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            pending = task
            return task
        }
        let result = await attempt.value
        reconnection.withLock { if $0 == attempt { $0 = nil } }
        try result.get()
    }

    var currentConnection: Connection { current.withLock { $0.connection } }

    /// Connection state for diagnostics (tests).
    var debugSummary: String { currentConnection.debugSummary }

    // MARK: - Session bookkeeping for reconnects

    func rememberHeld(_ name: String) { _ = heldSessions.withLock { $0.insert(name) } }
    func forgetHeld(_ name: String) { _ = heldSessions.withLock { $0.remove(name) } }

    /// Names of the sessions this client holds open (re-opened on reconnect).
    public var heldSessionNames: Set<String> { heldSessions.withLock { $0 } }
}

extension KVClient {
    /// Fails with `protocolViolation` for a reply of the wrong type.
    static func unexpected(_ reply: Message, for request: MessageType) -> KVClientError {
        .protocolViolation(ProtocolError(.unexpectedMessage, "\(request) answered with \(reply.type)"))
    }
}

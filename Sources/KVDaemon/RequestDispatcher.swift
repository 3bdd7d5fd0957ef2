import KVStore
import Logging
import NIOCore
import Protocol

/// What the connection loop does after a request: frames to write, then maybe close.
struct Reply: Sendable {
    var frames: [ByteBuffer]
    var closeConnection: Bool
}

/// Decodes each request frame, checks it against the peer's rights and answers it by calling
/// the store (storage) and the retrieval engine (selection). Holds no NIO state; one instance
/// serves every connection.
public final class RequestDispatcher: Sendable {
    let store: KVStore
    let policy: AccessPolicy
    let limits: ProtocolLimits
    let capacityBytes: UInt64
    let retrieval: RetrievalEngine
    let pins = PinRegistry()
    let metrics = DaemonMetrics()

    /// Creates a dispatcher over an open store.
    /// - Parameters:
    ///   - store: the open store; closed by `close()`.
    ///   - configuration: access policy, frame limit and retrieval defaults are taken from it.
    public init(store: KVStore, configuration: DaemonConfiguration) {
        self.store = store
        self.policy = AccessPolicy(adminUIDs: configuration.adminUIDs)
        self.limits = ProtocolLimits(
            maxFrameBytes: UInt32(configuration.maximumFrameBytes),
            maxBlocksPerRequest: UInt32(configuration.maximumBlocksPerRequest))
        self.capacityBytes = UInt64(configuration.store.capacity ?? 0)
        self.retrieval = RetrievalEngine(topK: configuration.topK)
    }

    /// Answers one frame of `connection`. Never throws: every failure becomes a typed error reply.
    func handle(_ frame: InboundFrame, connection: ConnectionState, logger: Logger) async -> Reply {
        let started = ContinuousClock.now
        let name = Self.typeNames[frame.type] ?? "unknown"
        let reply: Reply
        var failed = false
        do {
            let message = try decode(frame, connection: connection)
            let answer = try await answer(message, connection: connection, logger: logger)
            reply = Reply(frames: [try encode(answer, requestID: frame.requestID, connection: connection)], closeConnection: false)
        } catch {
            failed = true
            let protocolError = Self.protocolError(for: error)
            if protocolError.code == .internal {
                logger.error("request failed", metadata: ["type": "\(name)", "error": "\(error)"])
            } else {
                logger.debug("request rejected", metadata: ["type": "\(name)", "error": "\(protocolError)"])
            }
            metrics.error(code: "\(protocolError.code)")
            reply = errorReply(protocolError, requestID: frame.requestID, connection: connection)
        }
        metrics.request(name, seconds: (ContinuousClock.now - started).seconds, failed: failed)
        return reply
    }

    /// Metric names of the message types, computed once: `"\(type)"` goes through reflection,
    /// which cost about a microsecond on every request.
    static let typeNames: [UInt16: String] = Dictionary(uniqueKeysWithValues: MessageType.allCases.map { ($0.rawValue, "\($0)") })

    /// The reply to a byte stream that cannot be split into frames (sent once, then the
    /// connection is closed).
    func replyToFramingError(_ error: ProtocolError) -> ByteBuffer {
        metrics.error(code: "\(error.code)", countsAsRequest: true)
        let bytes = (try? Message.error(error).encodeFrame(requestID: 0)) ?? []
        return ByteBuffer(bytes: bytes)
    }

    /// Releases the sessions a closed connection held open.
    func connectionClosed(_ connection: ConnectionState, logger: Logger) async {
        for name in connection.takeOpenSessions() where pins.release(name) {
            await unpinInStore(name)
        }
    }

    /// Closes the store (after every connection has finished).
    func close() async {
        await store.close()
    }

    // MARK: - Decoding, encoding, errors

    private func decode(_ frame: InboundFrame, connection: ConnectionState) throws(ProtocolError) -> Message {
        guard let type = MessageType(rawValue: frame.type) else {
            throw ProtocolError(.unknownMessageType, "message type 0x\(String(frame.type, radix: 16)) is unknown")
        }
        guard type.isRequest else {
            throw ProtocolError(.unexpectedMessage, "\(type) is a reply type")
        }
        if !connection.handshakeDone && type != .hello {
            throw ProtocolError(.handshakeRequired, "\(type) before hello")
        }
        if connection.handshakeDone && type == .hello {
            throw ProtocolError(.unexpectedMessage, "second hello")
        }
        let body = Array(frame.body.readableBytesView)
        return try Message.decode(
            Frame(rawType: frame.type, flags: frame.flags, requestID: frame.requestID, body: body[...]), limits: limits)
    }

    private func encode(_ message: Message, requestID: UInt64, connection: ConnectionState) throws -> ByteBuffer {
        let bytes = try message.encodeFrame(
            requestID: requestID, maxFrameBytes: connection.clientMaximumFrameBytes ?? ProtocolLimits.defaultMaxFrameBytes)
        return ByteBuffer(bytes: bytes)
    }

    private func errorReply(_ error: ProtocolError, requestID: UInt64, connection: ConnectionState) -> Reply {
        let bytes = (try? Message.error(error).encodeFrame(requestID: requestID)) ?? []
        return Reply(frames: [ByteBuffer(bytes: bytes)], closeConnection: error.code.closesConnection)
    }

    /// Maps any error of a handler to the wire's typed error.
    static func protocolError(for error: any Error) -> ProtocolError {
        switch error {
        case let error as ProtocolError: error
        case let error as StoreError: StoreErrorMapping.protocolError(for: error)
        default: ProtocolError(.internal, "\(error)")
        }
    }

    // MARK: - Routing

    private func answer(_ message: Message, connection: ConnectionState, logger: Logger) async throws -> Message {
        switch message {
        case .hello(let hello): return try handshake(hello, connection: connection)
        case .createSession(let request): return try await createSession(request, connection: connection)
        case .openSession(let request): return try await openSession(request, connection: connection)
        case .closeSession(let request): return try await closeSession(request, connection: connection)
        case .listSessions(let request): return try listSessions(request, connection: connection)
        case .dropSession(let request): return try await dropSession(request, connection: connection)
        case .forkSession(let request): return try await forkSession(request, connection: connection)
        case .appendBlocks(let request): return try await appendBlocks(request, connection: connection)
        case .retrieve(let request): return try await retrieve(request, connection: connection)
        case .fetchBlocks(let request): return try fetchBlocks(request, connection: connection)
        case .putCheckpoint(let request): return try await putCheckpoint(request, connection: connection)
        case .getCheckpoint(let request): return try getCheckpoint(request, connection: connection)
        case .statsRequest: return try stats()
        case .verify(let request): return try await verify(request, connection: connection)
        case .reload(let request): return try reload(request, connection: connection, logger: logger)
        case .backup(let request): return try await backup(request, connection: connection, logger: logger)
        case .inspectSession(let request): return try inspectSession(request, connection: connection)
        case .helloOK, .ok, .sessionInfo, .sessionList, .appended, .retrieved, .blocks, .checkpoint, .stats, .verifyReport, .reloaded, .backupDone, .sessionDetail, .error:
            throw ProtocolError(.unexpectedMessage, "\(message.type) is a reply type")
        }
    }

    private func handshake(_ hello: Hello, connection: ConnectionState) throws(ProtocolError) -> Message {
        guard ProtocolVersion.supported.contains(hello.version) else {
            throw ProtocolError(
                .unsupportedVersion,
                "version \(hello.version) is not supported; this server speaks \(ProtocolVersion.supported.lowerBound)…\(ProtocolVersion.supported.upperBound)")
        }
        connection.clientMaximumFrameBytes = hello.maxFrameBytes
        return .helloOK(HelloOK(
            version: hello.version, maxFrameBytes: limits.maxFrameBytes, maxBlocksPerRequest: limits.maxBlocksPerRequest,
            peerUID: connection.peer.uid, peerGID: connection.peer.gid))
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

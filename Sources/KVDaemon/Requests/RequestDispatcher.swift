import PrometheusMetrics
import KVStore
import Logging
import NIOCore
import Protocol
import Synchronization

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
    let metrics: DaemonMetrics
    /// The store's eviction count when evicted sessions' retrieval states were last forgotten.
    let seenEvictions = Mutex(0)
    /// The shared tier when configured (started by the server, stopped by ``close()``).
    let tier: RemoteTier?

    /// Creates a dispatcher over an open store.
    /// - Parameters:
    ///   - store: the open store; closed by `close()`.
    ///   - configuration: access policy, frame limit and retrieval defaults are taken from it.
    ///   - registry: the swift-metrics backend the daemon's metrics are recorded in.
    public init(store: KVStore, configuration: DaemonConfiguration, registry: MetricsRegistry = MetricsRegistry(), logger: Logger = Logger(label: "kvd")) {
        let metrics = DaemonMetrics(registry: registry)
        self.metrics = metrics
        // `validate()` checked the seeds, the only thing the client's creation refuses.
        self.tier = configuration.remote.flatMap { try? RemoteTier(configuration: $0, store: store, metrics: metrics, logger: logger) }
        self.store = store
        self.policy = AccessPolicy(adminUIDs: configuration.adminUIDs)
        self.limits = ProtocolLimits(
            maxFrameBytes: UInt32(configuration.maximumFrameBytes),
            maxBlocksPerRequest: UInt32(configuration.maximumBlocksPerRequest))
        self.capacityBytes = UInt64(configuration.store.capacity ?? 0)
        self.retrieval = RetrievalEngine(retrievalTokens: configuration.retrievalTokens, budgetGrowth: configuration.budgetGrowth)
    }

    /// Answers one frame of `connection`. Never throws: every failure becomes a typed error reply.
    func handle(_ frame: InboundFrame, connection: ConnectionState, logger: Logger) async -> Reply {
        let started = ContinuousClock.now
        let outcome: Result<Message, any Error>
        do {
            let message = try decode(frame, connection: connection)
            outcome = .success(try await answer(message, connection: connection, logger: logger))
        } catch {
            outcome = .failure(error)
        }
        return finish(type: frame.type, requestID: frame.requestID, outcome, started: started, connection: connection, logger: logger)
    }

    /// Request types whose handler never suspends and costs microseconds whatever is stored
    /// (handshake, open of a session, stats, and a retrieve without payloads over a small
    /// layer; not `listSessions`, which sorts every session):
    /// ``handleInline(_:connection:logger:)`` may answer them on the event loop, sparing the hop
    /// to the connection's request loop and back.
    static let inlineTypes: Set<UInt16> = [
        MessageType.hello.rawValue, MessageType.openSession.rawValue, MessageType.stats.rawValue, MessageType.retrieve.rawValue,
    ]

    /// A retrieve runs on the event loop only without payloads and when the layer's
    /// representative keys are at most this many bytes (4 MiB: about 0.1 ms of scoring at
    /// memory bandwidth; 1 820 SmolLM2 blocks, 256 Llama-3-8B blocks).
    static let inlineRetrieveKeyBytes = 4 << 20

    /// What ``handleInline(_:connection:logger:)`` did with a frame.
    enum InlineOutcome {
        /// Answered (or refused with a typed error) on the event loop.
        case answered(Reply)
        /// Decoded, but too costly to run on the event loop: the request loop answers this
        /// message (without decoding the frame again).
        case declined(Message)
    }

    /// Answers a frame of one of the ``inlineTypes`` synchronously (same replies, errors and
    /// metrics as ``handle(_:connection:logger:)``), or declines it with its decoded message
    /// when this request is too costly to run on the event loop after all (then it goes to the
    /// request loop as usual).
    func handleInline(_ frame: InboundFrame, connection: ConnectionState, logger: Logger) -> InlineOutcome {
        let started = ContinuousClock.now
        let outcome: Result<Message, any Error>
        do {
            let message = try decode(frame, connection: connection)
            guard isCheap(message, connection: connection) else { return .declined(message) }
            outcome = .success(try answerInline(message, connection: connection))
        } catch {
            outcome = .failure(error)
        }
        return .answered(
            finish(type: frame.type, requestID: frame.requestID, outcome, started: started, connection: connection, logger: logger))
    }

    /// False for a retrieve that wants payloads or scores more than ``inlineRetrieveKeyBytes``;
    /// true for everything else (including requests that will fail: errors are cheap).
    private func isCheap(_ message: Message, connection: ConnectionState) -> Bool {
        // Opening a session this node does not hold may pull it from the shared tier.
        if case .openSession(let request) = message { return tier == nil || (try? visibleSession(request.name, connection: connection)) != nil }
        guard case .retrieve(let request) = message else { return true }
        guard !request.wantPayloads else { return false }
        guard let record = try? visibleSession(request.session, connection: connection),
              Int(request.layer) < record.blocksPerLayer.count
        else { return true }
        return record.blocksPerLayer[Int(request.layer)] * record.descriptor.vectorDimension * 4 <= Self.inlineRetrieveKeyBytes
    }

    /// Encodes the answer or the typed error of one request (message `type`, `requestID`),
    /// logs and counts it; `started` is when the request was taken up (its latency metric).
    func finish(
        type: UInt16, requestID: UInt64, _ outcome: Result<Message, any Error>, started: ContinuousClock.Instant,
        connection: ConnectionState, logger: Logger
    ) -> Reply {
        let name = Self.typeNames[type] ?? "unknown"
        var failure: (any Error)?
        var reply: Reply?
        switch outcome {
        case .success(let answer):
            do {
                reply = Reply(frames: [try encode(answer, requestID: requestID, connection: connection)], closeConnection: false)
            } catch {
                failure = error
            }
        case .failure(let error):
            failure = error
        }
        if let failure {
            let protocolError = Self.protocolError(for: failure)
            if protocolError.code == .internal {
                logger.error("request failed", metadata: ["type": "\(name)", "error": "\(failure)"])
            } else {
                logger.debug("request rejected", metadata: ["type": "\(name)", "error": "\(protocolError)"])
            }
            metrics.error(code: "\(protocolError.code)")
            reply = errorReply(protocolError, requestID: requestID, connection: connection)
        }
        metrics.request(name, seconds: (ContinuousClock.now - started).seconds, failed: failure != nil)
        return reply!
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
        await tier?.stop()
        await store.close()
    }

    // MARK: - Decoding, encoding, errors

    /// The frame's message: ``InboundFrame/decoded`` when the event loop decoded it already,
    /// else its body decoded after the checks of the connection's state (handshake first, once).
    /// The body is copied once out of the receive buffer into the array the protocol decoder
    /// reads (`Protocol` has no NIO); decoded payloads are slices of that array, not copies.
    func decode(_ frame: InboundFrame, connection: ConnectionState) throws(ProtocolError) -> Message {
        if let decoded = frame.decoded { return decoded }
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
        let body = frame.body.getBytes(at: frame.body.readerIndex, length: frame.body.readableBytes) ?? []
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
        case .openSession(let request):
            try await pullIfMissing(request.name, connection: connection, logger: logger)
            return try answerInline(message, connection: connection)
        case .hello, .statsRequest: return try answerInline(message, connection: connection)
        case .listSessions(let request): return try listSessions(request, connection: connection)
        case .createSession(let request): return try await createSession(request, connection: connection)
        case .closeSession(let request): return try await closeSession(request, connection: connection)
        case .dropSession(let request): return try await dropSession(request, connection: connection)
        case .forkSession(let request):
            try await pullIfMissing(request.source, connection: connection, logger: logger)
            return try await forkSession(request, connection: connection)
        case .appendBlocks(let request): return try await appendBlocks(request, connection: connection)
        case .retrieve(let request): return try await retrieve(request, connection: connection)
        case .fetchBlocks(let request): return try await fetchBlocks(request, connection: connection)
        case .putCheckpoint(let request): return try await putCheckpoint(request, connection: connection)
        case .getCheckpoint(let request): return try getCheckpoint(request, connection: connection)
        case .verify(let request): return try await verify(request, connection: connection)
        case .reload(let request): return try reload(request, connection: connection, logger: logger)
        case .backup(let request): return try await backup(request, connection: connection, logger: logger)
        case .inspectSession(let request):
            try await pullIfMissing(request.name, connection: connection, logger: logger)
            return try inspectSession(request, connection: connection)
        case .helloOK, .ok, .sessionInfo, .sessionList, .appended, .retrieved, .blocks, .checkpoint, .stats, .verifyReport, .reloaded, .backupDone, .sessionDetail, .error:
            throw ProtocolError(.unexpectedMessage, "\(message.type) is a reply type")
        }
    }

    /// The synchronous handlers of ``inlineTypes``.
    private func answerInline(_ message: Message, connection: ConnectionState) throws -> Message {
        switch message {
        case .hello(let hello): return try handshake(hello, connection: connection)
        case .openSession(let request): return try openSession(request, connection: connection)
        case .statsRequest: return try stats()
        case .retrieve(let request) where !request.wantPayloads: return try retrieveWithoutPayloads(request, connection: connection)
        default: throw ProtocolError(.internal, "\(message.type) is not answered inline")
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

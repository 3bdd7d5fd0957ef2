import PrometheusMetrics
import KVStore
import Logging
import NIOCore
import NIOPosix
import Protocol
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The kvd server: a Unix-domain socket listener (SwiftNIO), one request loop per connection
/// (``RequestLoop``: replies in request order, appends pipelined), and graceful shutdown. NIO event loops never leave this type; requests
/// and store work run on the daemon's own threads (a ``DedicatedExecutor`` of `requestThreads`), never
/// on the host process's Swift concurrency pool.
///
/// Life cycle: `run()` checks the socket's and the data directory's permissions, prepares the
/// socket file (replacing a stale one, refusing a live one), creates it with the configured
/// mode and group (``SocketFile/bindListening(path:mode:group:backlog:)``), serves until
/// `shutdown()` (called from a signal handler),
/// then waits for every connection's in-flight request to finish, closes the store and removes
/// the socket file before returning.
public final class DaemonServer: Sendable {
    /// The configuration the server was created with.
    public let configuration: DaemonConfiguration
    let logger: Logger
    private let state = Mutex(ListenerState())

    private struct ListenerState: ~Copyable {
        var listener: (any Channel)? = nil
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Requests each connection's request loop has taken up and not yet answered (taken up →
        /// store → reply written); a connection absent here is idle.
        var busy: [ObjectIdentifier: Int] = [:]
        var shuttingDown = false
        /// Admitted connections against `--max-connections` and `--max-connections-per-uid`
        /// (replaced in `run()` once the descriptor limit is known).
        var limits = ConnectionLimits(global: 1, perUID: 1)
        /// The peer uid of each admitted connection, released from `limits` when it ends.
        var uids: [ObjectIdentifier: UInt32] = [:]
    }

    /// Creates a server; nothing is opened until `run()`.
    public init(configuration: DaemonConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The swift-metrics backend holding the daemon's metrics (what `stats` and the Prometheus
    /// endpoint report). `kvd serve` bootstraps the global `MetricsSystem` with it.
    public let metricsRegistry = MetricsRegistry()

    /// Binds the socket and serves until `shutdown()`; returns after a clean shutdown.
    /// Throws `DaemonError` when the socket cannot be set up.
    ///
    /// Everything it awaits runs on `configuration.requestThreads` threads of its own (a
    /// ``DedicatedExecutor``, started here and ended on return), whatever executor the caller
    /// runs on: the accept loop, every connection's request loop (reader and writer tasks),
    /// the handlers, the store's parallel encoding and decoding, and the continuations they
    /// await. A host that keeps the cooperative pool busy does not delay the daemon's replies.
    /// NIO's event loops still do the socket I/O and the cheap requests answered inline.
    public func run() async throws {
        try configuration.validate()
        let executor = DedicatedExecutor(threads: configuration.requestThreads, name: "kvd-request")
        defer { executor.shutdown() }
        try await withTaskExecutorPreference(executor) {
            try await listenAndServe(executor: executor)
        }
    }

    /// The body of ``run()``, on `executor`'s threads.
    private func listenAndServe(executor: DedicatedExecutor) async throws {
        let path = configuration.socketPath
        let activated = configuration.listeningDescriptor
        if activated == nil {
            try SocketFile.checkNotWorldWritable(SocketFile.parentDirectory(of: path), what: "socket directory")
            try SocketFile.prepare(path: path)
        }
        if case .unix(let metricsPath) = configuration.metricsAddress {
            // Checked again when the endpoint starts; here, before anything is created.
            try SocketFile.checkNotWorldWritable(SocketFile.parentDirectory(of: metricsPath), what: "metrics socket directory")
        }
        try DataDirectory.prepare(configuration.dataDirectory)
        let store: KVStore
        var storeConfiguration = configuration.store
        storeConfiguration.tracksUploads = configuration.remote != nil
        do {
            store = try KVStore(configuration: storeConfiguration)
        } catch .locked {
            throw DaemonError.invalidConfiguration("data directory \(configuration.dataDirectory) is in use by another kvd")
        }
        try await qualifyLegacyNames(store)
        let dispatcher = RequestDispatcher(store: store, configuration: configuration, registry: metricsRegistry, logger: logger)
        if let tier = dispatcher.tier {
            tier.start(on: executor)
            logger.info("shared tier", metadata: ["seeds": "\(configuration.remote!.seeds)", "replicas": "\(configuration.remote!.replicas)"])
        }
        logger.info("store open", metadata: ["data": "\(configuration.dataDirectory)", "durability": "\(configuration.store.durability)"])

        let descriptorLimit = ConnectionLimits.raiseDescriptorLimit()
        let maximumConnections = ConnectionLimits.fitting(requested: configuration.maximumConnections, descriptorLimit: descriptorLimit)
        if maximumConnections < configuration.maximumConnections {
            logger.warning("the descriptor limit cannot hold --max-connections; serving fewer", metadata: [
                "requested": "\(configuration.maximumConnections)", "limit": "\(maximumConnections)",
                "RLIMIT_NOFILE": "\(descriptorLimit)",
            ])
        }
        state.withLock {
            $0.limits = ConnectionLimits(global: maximumConnections, perUID: configuration.maximumConnectionsPerUID)
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        let listener: NIOAsyncChannel<AcceptedConnection, Never>
        let metricsEndpoint: MetricsEndpoint?
        do {
            // Children start with autoRead off: their handlers are added in `serve`, and reading
            // starts only then, so no byte reaches a pipeline without a consumer. A child
            // accepted while the listener closes is registered here and closed by `shutdown()`.
            // A child over a connection limit is sent `tooManyConnections` and closed unread.
            // Replies a client has not taken beyond the high water mark make the child
            // unwritable, and an unwritable child is not read (`serve`). A client that shuts down
            // its writing side only ends the inbound stream: the request loop answers what it
            // read, writes every reply, and then the connection is closed (never mid-frame).
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.autoRead, value: false)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelOption(.writeBufferWaterMark, value: Self.writeBufferWaterMark)
            let initializer: @Sendable (any Channel) -> EventLoopFuture<AcceptedConnection> = { channel in
                PeerCredentials.read(from: channel).flatMapThrowing { peer in
                    let admission = self.register(channel, uid: peer.uid)
                    switch admission {
                    case .admitted, .shuttingDown:
                        // The handlers go in now, before the channel is registered: a client that
                        // sent its requests and shut down its writing side before kvd got to it
                        // makes NIO read everything at once, whatever autoRead says.
                        let served: ServedConnection
                        do {
                            served = try self.installPipeline(channel, peer: peer, dispatcher: dispatcher)
                        } catch {
                            self.forget(ObjectIdentifier(channel))
                            throw error
                        }
                        if case .shuttingDown = admission { channel.close(promise: nil) }
                        return AcceptedConnection(channel: channel, peer: peer, served: served)
                    case .refused(let reason):
                        self.refuse(channel, peer: peer, reason: reason, metrics: dispatcher.metrics)
                        return AcceptedConnection(channel: channel, peer: peer, served: nil)
                    }
                }
            }
            if let activated {
                // Socket activation: systemd created, bound and listens on the socket.
                listener = try await bootstrap.bind(activated, childChannelInitializer: initializer)
            } else {
                // The socket appears at `path` already listening, with its final mode and group
                // (no umask change, nothing applied through a path that could be a symlink).
                let descriptor = try SocketFile.bindListening(path: path, mode: configuration.socketMode, group: configuration.socketGroup)
                do {
                    listener = try await bootstrap.bind(descriptor, childChannelInitializer: initializer)
                } catch {
                    // NIO owns (and closed) the descriptor once it tried to serve it.
                    SocketFile.remove(path: path)
                    throw error
                }
            }
            metricsEndpoint = try await startMetricsEndpoint(group: group, executor: executor, dispatcher: dispatcher)
        } catch {
            await dispatcher.close()
            try? await group.shutdownGracefully()
            throw error
        }

        let closeNow = state.withLock { state -> Bool in
            state.listener = listener.channel
            return state.shuttingDown
        }
        if closeNow { listener.channel.close(promise: nil) }
        logger.info("kvd listening", metadata: [
            "socket": "\(path)", "mode": "\(String(configuration.socketMode, radix: 8))",
            "activated": "\(activated != nil)", "metrics": "\(configuration.metricsAddress.map { "\($0)" } ?? "off")",
        ])
        notifySystemd(["READY=1", "STATUS=serving \(path)"])

        do {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await listener.executeThenClose { inbound in
                    for try await accepted in inbound {
                        tasks.addTask { await self.serve(accepted, dispatcher: dispatcher) }
                    }
                }
            }
        } catch {
            logger.error("listener failed", metadata: ["error": "\(error)"])
        }
        logger.info("kvd: connections drained, closing store")
        await metricsEndpoint?.close()
        await dispatcher.close()
        if activated == nil { SocketFile.remove(path: path) }
        try? await group.shutdownGracefully()
        logger.info("kvd stopped")
    }

    /// Moves sessions stored before owners had their own namespaces into them, before serving;
    /// closes the store and throws `DaemonError.invalidConfiguration` when that fails.
    private func qualifyLegacyNames(_ store: KVStore) async throws {
        let outcome: Result<Int, StoreError>
        do {
            outcome = .success(try await SessionAddress.qualifyLegacyNames(in: store))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let moved) where moved > 0:
            logger.notice("moved sessions into their owners' namespaces", metadata: ["sessions": "\(moved)"])
        case .success:
            break
        case .failure(let error):
            await store.close()
            throw DaemonError.invalidConfiguration("cannot move stored sessions into their owners' namespaces: \(error)")
        }
    }

    /// Starts a graceful shutdown: stops accepting; an idle connection is sent a `shuttingDown`
    /// error (request id 0) and closed at once; a connection executing a request finishes it (a
    /// request in the store is not interrupted), writes its reply, then gets the same notice and
    /// is closed. A request read after this point is answered with `shuttingDown` (its own id)
    /// instead of being executed. Idempotent.
    public func shutdown() {
        let (listener, idle, total) = state.withLock { state -> ((any Channel)?, [any Channel], Int) in
            state.shuttingDown = true
            let idle = state.connections.filter { state.busy[$0.key] == nil }.map(\.value)
            return (state.listener, idle, state.connections.count)
        }
        logger.info("kvd: shutting down", metadata: ["connections": "\(total)", "idle": "\(idle.count)"])
        notifySystemd(["STOPPING=1", "STATUS=finishing in-flight requests"])
        listener?.close(promise: nil)
        for channel in idle {
            // Written through the pipeline; the request loop of an idle connection is not writing.
            let notice = Self.shutdownNotice(requestID: 0)
            channel.eventLoop.execute {
                channel.writeAndFlush(notice).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    /// The `shuttingDown` error frame for `requestID` (0: the connection-level notice).
    static func shutdownNotice(requestID: UInt64) -> ByteBuffer {
        let error = ProtocolError(.shuttingDown, "kvd is shutting down")
        return ByteBuffer(bytes: (try? Message.error(error).encodeFrame(requestID: requestID)) ?? [])
    }

    /// Counts one more request of the connection in flight before it is executed; false when
    /// the server is shutting down (then the request must be refused with `shuttingDown`).
    private func beginRequest(_ id: ObjectIdentifier) -> Bool {
        state.withLock { state in
            guard !state.shuttingDown else { return false }
            state.busy[id, default: 0] += 1
            return true
        }
    }

    /// Counts a request of the connection answered after its reply was written; returns whether
    /// the server started shutting down meanwhile (then the connection must be closed after the
    /// notice once nothing is in flight) and how many requests remain in flight.
    private func endRequest(_ id: ObjectIdentifier) -> (shuttingDown: Bool, inFlight: Int) {
        state.withLock { state in
            let remaining = max(0, (state.busy[id] ?? 0) - 1)
            state.busy[id] = remaining == 0 ? nil : remaining
            return (state.shuttingDown, remaining)
        }
    }

    /// Unanswered reply bytes of a connection above which it is unwritable (and not read),
    /// and below which it is writable again: 256 KiB / 64 KiB. A single larger reply (a
    /// retrieve with payloads) is written whole; the next request waits for it.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 64 << 10, high: 256 << 10)

    /// What `register` decided for an accepted channel.
    private enum Registration {
        case admitted
        /// Admitted but the server is shutting down: close it.
        case shuttingDown
        /// Over a connection limit (the text says which); not registered.
        case refused(String)
    }

    /// Records an accepted channel of peer `uid` so `shutdown()` can close it, when the
    /// connection limits admit it.
    private func register(_ channel: any Channel, uid: UInt32) -> Registration {
        state.withLock { state in
            switch state.limits.admit(uid: uid) {
            case .globalLimitReached:
                return .refused("kvd serves \(state.limits.global) connections, its limit (--max-connections)")
            case .uidLimitReached:
                return .refused("uid \(uid) has \(state.limits.perUID) connections, the limit per uid (--max-connections-per-uid)")
            case .admitted:
                let id = ObjectIdentifier(channel)
                state.connections[id] = channel
                state.uids[id] = uid
                return state.shuttingDown ? .shuttingDown : .admitted
            }
        }
    }

    /// Sends `tooManyConnections` (request id 0) on a connection that was not admitted, once it
    /// is active (``RefusalHandler``), and closes it without reading from it.
    private func refuse(_ channel: any Channel, peer: PeerCredentials, reason: String, metrics: DaemonMetrics) {
        metrics.add("connections.rejected")
        metrics.error(code: "\(ErrorCode.tooManyConnections)")
        logger.debug("connection refused", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        let notice = ByteBuffer(bytes: (try? Message.error(ProtocolError(.tooManyConnections, reason)).encodeFrame(requestID: 0)) ?? [])
        do {
            try channel.pipeline.syncOperations.addHandler(RefusalHandler(notice: notice))
        } catch {
            channel.close(promise: nil)
        }
    }

    /// Installs an admitted connection's handlers (on its event loop, before it is registered)
    /// and turns reading on: traffic counter, back-pressure, frame decoder, deadlines, inline
    /// answers, and the `NIOAsyncChannel` the request loop reads and writes.
    private func installPipeline(_ channel: any Channel, peer: PeerCredentials, dispatcher: RequestDispatcher) throws -> ServedConnection {
        let id = ObjectIdentifier(channel)
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(peer)"
        let connection = ConnectionState(peer: peer, maximumFrameBytes: configuration.maximumFrameBytes)
        let configuration = self.configuration
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(TrafficCounter(metrics: dispatcher.metrics))
        // Holds `read()` while the channel is unwritable (replies above the high water mark): a
        // client that does not read its replies is not read either.
        try pipeline.addHandler(BackPressureHandler())
        try pipeline.addHandler(
            ByteToMessageHandler(NIOFrameDecoder(
                maximumFrameBytes: UInt32(configuration.maximumFrameBytes),
                handshakeFrameBytes: UInt32(DaemonConfiguration.handshakeFrameBytes), connection: connection)))
        try pipeline.addHandler(
            ConnectionDeadlineHandler(
                connection: connection, handshakeTimeout: configuration.handshakeTimeoutSeconds,
                idleTimeout: configuration.idleTimeoutSeconds,
                isIdle: { [self] in state.withLock { $0.busy[id] == nil } },
                expired: { [logger] expiry in
                    dispatcher.metrics.add(expiry == .handshake ? "connections.handshakeTimeouts" : "connections.idleTimeouts")
                    dispatcher.metrics.error(code: "\(ErrorCode.connectionTimedOut)")
                    logger.debug("connection timed out", metadata: ["deadline": "\(expiry)"])
                }))
        try pipeline.addHandler(
            InlineRequestHandler(dispatcher: dispatcher, connection: connection, logger: logger) { [self] in
                !state.withLock { $0.shuttingDown }
            })
        // At most two decoded frames wait for the request loop; then the socket is not read, so a
        // connection holds at most the loop's pipeline depth + 2 frames (each ≤ the frame limit)
        // in memory (RequestLoop).
        let wrapped = try NIOAsyncChannel<InboundFrame, ByteBuffer>(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2)))
        try channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        return ServedConnection(wrapped: wrapped, connection: connection, logger: logger)
    }

    /// Forgets a registered connection (its slot in the connection limits included).
    private func forget(_ id: ObjectIdentifier) {
        state.withLock { state in
            state.connections.removeValue(forKey: id)
            state.busy.removeValue(forKey: id)
            if let uid = state.uids.removeValue(forKey: id) { state.limits.release(uid: uid) }
        }
    }

    /// Serves one connection to its end; never throws.
    private func serve(_ accepted: AcceptedConnection, dispatcher: RequestDispatcher) async {
        guard let served = accepted.served else { return }
        let channel = accepted.channel
        let id = ObjectIdentifier(channel)
        defer { forget(id) }
        let (connection, logger) = (served.connection, served.logger)
        logger.debug("connection opened")
        dispatcher.metrics.connectionOpened()
        defer { dispatcher.metrics.connectionClosed() }
        let loop = RequestLoop(
            dispatcher: dispatcher, connection: connection, logger: logger,
            pipelineDepth: configuration.appendPipelineDepth,
            beginRequest: { [self] in beginRequest(id) }, endRequest: { [self] in endRequest(id) })
        do {
            try await served.wrapped.executeThenClose { inbound, outbound in
                await loop.run(inbound: inbound, outbound: outbound)
                await Self.drainReplies(of: channel)
            }
        } catch {
            logger.debug("connection ended with error", metadata: ["error": "\(error)"])
        }
        await dispatcher.connectionClosed(connection, logger: logger)
        logger.debug("connection closed")
    }
}

extension DaemonServer {
    /// How long a connection whose request loop ended waits for the client to take its last
    /// replies before it is closed anyway.
    static let replyDrainTimeout = TimeAmount.seconds(10)

    /// Waits until every reply written to `channel` has left NIO's buffer for the kernel's (or
    /// the channel closed, or ``replyDrainTimeout`` passed: then it is closed), so that closing
    /// the connection drops none: `close()` discards the writes NIO still holds, which a client
    /// that reads slowly — after shutting down its writing side, say — would otherwise lose.
    /// An empty write's promise completes after every write before it.
    static func drainReplies(of channel: any Channel) async {
        let flushed = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ByteBuffer(), promise: flushed)
        let deadline = channel.eventLoop.scheduleTask(in: replyDrainTimeout) { channel.close(promise: nil) }
        _ = try? await flushed.futureResult.get()
        deadline.cancel()
    }
}

/// A freshly accepted connection with the kernel-reported identity of its peer.
struct AcceptedConnection: Sendable {
    let channel: any Channel
    let peer: PeerCredentials
    /// Its handlers; nil when a connection limit refused it (it is being closed and is not served).
    let served: ServedConnection?
}

/// An admitted connection's request-loop channel and state.
struct ServedConnection: Sendable {
    let wrapped: NIOAsyncChannel<InboundFrame, ByteBuffer>
    let connection: ConnectionState
    let logger: Logger
}

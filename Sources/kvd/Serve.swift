import ArgumentParser
import CoreMetrics
import KVDaemon
import KVStore
import Logging
import RedisCluster
#if canImport(Glibc)
import Glibc
#endif

/// `kvd serve`: runs the daemon in the foreground until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve in the foreground until SIGTERM/SIGINT (then finish in-flight writes, close the store, remove the socket)."
    )

    @Option(name: .long, help: "Unix-domain socket path to listen on (a stale socket file is replaced; a live one is an error).")
    var socket: String

    @Option(name: .long, help: "Data directory holding the LMDB environment (created if missing).")
    var data: String

    @Option(name: .long, help: "Durability: sync (each batch fsynced before it is acknowledged), periodic (fsync every --sync-interval-ms), none.")
    var durability: DurabilityOption = .sync

    @Option(name: .long, help: "Milliseconds between syncs with --durability periodic.")
    var syncIntervalMs: Int = 100

    @Option(name: .long, help: "Byte limit on stored data (blocks and checkpoints); above it a write evicts the writer's own least-recently-used sessions not held open, never another owner's. Default: no limit.")
    var capacity: Int?

    @Option(name: .long, help: "Byte limit per owner (uid, or sharing group): its distinct blocks and checkpoints, open sessions included; above it a write evicts the owner's own least-recently-used sessions not held open, else fails with quotaExceeded. Default: no limit (set it, e.g. to capacity / users, when several users share kvd).")
    var ownerQuota: Int?

    @Option(name: .long, parsing: .singleValue, help: "Uids whose sessions may share stored blocks, comma-separated (repeatable, one group each; KVD_SHARE_BLOCKS separates groups with ';'). Default: none — no two uids share a block.")
    var shareBlocks: [String] = []

    @Option(name: .long, help: "LMDB map size in bytes (the largest the environment may grow).")
    var mapSize: Int = 64 << 30

    @Option(name: .long, help: "zstd compression level of block payloads.")
    var compressionLevel: Int = 1

    @Option(name: .long, help: "Socket file mode, octal.")
    var socketMode: String = "660"

    @Option(name: .long, help: "Group id given to the socket file so its members may connect. Default: the daemon's group.")
    var socketGroup: UInt32?

    @Option(name: .long, parsing: .singleValue, help: "Uid that sees and may drop every session (repeatable). Default: 0 (root).")
    var adminUid: [UInt32] = []

    @Option(name: .long, help: "Largest frame accepted from a client, in bytes after the length field.")
    var maxFrameBytes: Int = 64 << 20

    @Option(name: .long, help: "Number of NIO event-loop threads for socket I/O (and the cheap requests answered inline).")
    var eventLoopThreads: Int = 1

    @Option(name: .long, help: "Number of threads executing requests and store work (1…1024). Default: one per core, at least 2.")
    var requestThreads: Int?

    @Option(name: .long, help: "Requests of one connection taken up before the first is answered (1…64): appends are encoded and queued while earlier ones commit; other requests wait for every earlier reply. 1: one request at a time.")
    var appendPipeline: Int = 4

    @Option(name: .long, help: "Connections served at once; one more gets tooManyConnections (42) and is closed. Lowered with a warning when RLIMIT_NOFILE cannot hold it.")
    var maxConnections: Int = 1024

    @Option(name: .long, help: "Connections of one peer uid served at once; one more gets tooManyConnections (42) and is closed.")
    var maxConnectionsPerUid: Int = 256

    @Option(name: .long, help: "Seconds a new connection may take to complete the handshake; then it gets connectionTimedOut (43) and is closed. 0: no limit.")
    var handshakeTimeoutSeconds: Int = 10

    @Option(name: .long, help: "Seconds a connection may send no request while none is in flight; then it gets connectionTimedOut (43) and is closed, releasing the sessions it held open. 0: no limit.")
    var idleTimeoutSeconds: Int = 0

    @Option(name: .long, help: "Retrieval budget: tokens retrieved per layer per chunk, K·b; a session of b-token blocks gets K = tokens / b blocks per layer (`infllm`'s count, each layer's share of the ActQKV pool).")
    var retrievalTokens: Int = DaemonConfiguration.defaultRetrievalTokens

    @Option(name: .long, help: "Budget growth g: a layer of N closed blocks gets max(K, ⌈N/g⌉) blocks per chunk (K_max and the ActQKV pool grow alike), so the budget keeps pace with long sessions. 0: a fixed budget.")
    var budgetGrowth: Int = DaemonConfiguration.defaultBudgetGrowth

    @Option(name: .long, help: "Shared tier: a Redis Cluster (redis://HOST:PORT[,HOST:PORT…], any nodes of it) that acknowledged blocks are written behind to (docs/TIER.md). Default: none.")
    var remote: String?

    @Option(name: .long, help: "Replicas that must hold a block written to the shared tier before it counts as uploaded (Redis WAIT); 0 for a cluster without replicas.")
    var remoteReplicas: Int = 1

    @Option(name: .long, help: "First part of every key kvd writes to the shared tier (several deployments may share a cluster).")
    var remotePrefix: String = "kvd"

    @Option(name: .long, help: "Redis ACL user for the shared tier. Default: the default user.")
    var remoteUser: String?

    @Option(name: .long, help: "Redis password for the shared tier; give it in the config file or KVD_REMOTE_PASSWORD rather than on the command line (visible in ps). Default: none.")
    var remotePassword: String?

    @Flag(name: .long, help: "Shared tier over TLS (as a rediss:// seed list does); the nodes' certificates are verified. Environment/config file: true or false.")
    var remoteTls = false

    @Option(name: .long, help: "PEM file of the authorities that sign the cluster nodes' certificates (TLS). Default: the system's store.")
    var remoteTlsCa: String?

    @Option(name: .long, help: "PEM client certificate for a cluster that authenticates clients (tls-auth-clients); with --remote-tls-key.")
    var remoteTlsCert: String?

    @Option(name: .long, help: "PEM private key of --remote-tls-cert.")
    var remoteTlsKey: String?

    @Option(name: .long, help: "Name the nodes' certificates must carry when they do not name the addresses kvd reaches them at. Default: each node's address.")
    var remoteTlsServerName: String?

    @Option(name: .long, help: "Config file of `option = value` lines (also KVD_CONFIG); flags and KVD_* environment variables take precedence over it.")
    var config: String?

    @Option(name: .long, help: "Prometheus endpoint (GET /metrics): unix:PATH or tcp:127.0.0.1:PORT (loopback only). Default: none.")
    var metrics: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (SIGHUP re-reads it).")
    var logLevel: LogLevelOption = .info

    @Flag(name: .long, help: "Start even in a user namespace that does not map every uid (systemd's PrivateUsers=yes, unshare -U), where every peer outside the map appears as uid 65534 and all of them share one owner's sessions. Only when every client runs inside kvd's namespace. Default: off (kvd refuses to start there). Environment/config file: true or false.")
    var allowPartialUidMap = false

    func run() async throws {
        let level = ReloadableLogLevel(logLevel.level, reread: { Self.reloadLogLevel() })
        level.install()
        LoggingSystem.bootstrap { label in SharedLevelLogHandler(label: label, shared: level) }
        let logger = Logger(label: "kvd")

        var configuration = try makeConfiguration()
        // Before anything is bound: sessions are owned by the peers' uids.
        try checkUserNamespace(logger: logger)
        try applyOperations(to: &configuration, logger: logger)

        let server = DaemonServer(configuration: configuration, logger: logger)
        // Metrics any library emits through swift-metrics land with the daemon's own.
        MetricsSystem.bootstrap(server.metricsRegistry)
        let notifier = configuration.systemdNotifier
        let socketPath = configuration.socketPath
        let reload = ShutdownSignals(signals: [SIGHUP]) { _ in
            try? notifier?.notify(["RELOADING=1"])
            if let (previous, current) = level.reloadFromConfiguration() {
                logger.notice("log level changed by SIGHUP", metadata: ["previous": "\(previous)", "level": "\(current)"])
            } else {
                logger.error("SIGHUP: the configuration could not be re-read; the log level is unchanged")
            }
            try? notifier?.notify(["READY=1", "STATUS=serving \(socketPath)"])
        }
        defer { withExtendedLifetime(reload) {} }
        let signals = ShutdownSignals { number in
            logger.notice("received signal \(number)")
            server.shutdown()
        }
        defer { withExtendedLifetime(signals) {} }
        try await server.run()
    }
    /// The daemon configuration these options describe (without what systemd passes: socket
    /// activation and readiness are added by `applyOperations`). Throws `DaemonError.invalidConfiguration`
    /// naming the option for a value out of range.
    func makeConfiguration() throws -> DaemonConfiguration {
        guard let mode = UInt32(socketMode, radix: 8), mode <= 0o777 else {
            throw DaemonError.invalidConfiguration("--socket-mode \(socketMode): must be octal 0…777, e.g. 660")
        }
        var configuration = DaemonConfiguration(socketPath: socket, dataDirectory: data)
        configuration.socketMode = mode
        configuration.socketGroup = socketGroup
        if !adminUid.isEmpty { configuration.adminUIDs = Set(adminUid) }
        configuration.maximumFrameBytes = maxFrameBytes
        configuration.eventLoopThreads = eventLoopThreads
        guard retrievalTokens >= 1 else { throw DaemonError.invalidConfiguration("--retrieval-tokens \(retrievalTokens): must be ≥ 1") }
        guard eventLoopThreads >= 1 else { throw DaemonError.invalidConfiguration("--event-loop-threads \(eventLoopThreads): must be ≥ 1") }
        configuration.retrievalTokens = retrievalTokens
        guard budgetGrowth >= 0 else { throw DaemonError.invalidConfiguration("--budget-growth \(budgetGrowth): must be ≥ 0") }
        configuration.budgetGrowth = budgetGrowth
        let tlsOptions = [
            ("--remote-tls-ca", remoteTlsCa), ("--remote-tls-cert", remoteTlsCert), ("--remote-tls-key", remoteTlsKey),
            ("--remote-tls-server-name", remoteTlsServerName),
        ].filter { $0.1 != nil }.map(\.0)
        if let option = tlsOptions.first, !remoteTls, !(remote.map(RedisEndpoint.usesTLS) ?? false) {
            throw DaemonError.invalidConfiguration("\(option) is for a shared tier over TLS: give --remote rediss://… or --remote-tls")
        }
        if remoteTls && remote == nil { throw DaemonError.invalidConfiguration("--remote-tls needs --remote") }
        if let remote {
            var tier = RemoteTierConfiguration(seeds: [])
            do {
                tier.seeds = try RedisEndpoint.parseList(remote)
            } catch {
                throw DaemonError.invalidConfiguration("--remote \(remote): \(error)")
            }
            tier.replicas = remoteReplicas
            tier.keyPrefix = remotePrefix
            tier.username = remoteUser
            tier.password = remotePassword
            if remoteTls || RedisEndpoint.usesTLS(remote) {
                tier.tls = RedisTLSConfiguration(
                    caFile: remoteTlsCa, certificateFile: remoteTlsCert, keyFile: remoteTlsKey, serverName: remoteTlsServerName)
            }
            try tier.validate()
            configuration.remote = tier
        }
        if let requestThreads {
            guard (1...1024).contains(requestThreads) else {
                throw DaemonError.invalidConfiguration("--request-threads \(requestThreads): must be 1…1024")
            }
            configuration.requestThreads = requestThreads
        }
        guard (1...64).contains(appendPipeline) else { throw DaemonError.invalidConfiguration("--append-pipeline \(appendPipeline): must be 1…64") }
        configuration.appendPipelineDepth = appendPipeline
        guard (1...(1 << 20)).contains(maxConnections) else {
            throw DaemonError.invalidConfiguration("--max-connections \(maxConnections): must be 1…1048576")
        }
        configuration.maximumConnections = maxConnections
        guard (1...(1 << 20)).contains(maxConnectionsPerUid) else {
            throw DaemonError.invalidConfiguration("--max-connections-per-uid \(maxConnectionsPerUid): must be 1…1048576")
        }
        configuration.maximumConnectionsPerUID = maxConnectionsPerUid
        guard (0...86_400).contains(handshakeTimeoutSeconds) else {
            throw DaemonError.invalidConfiguration("--handshake-timeout-seconds \(handshakeTimeoutSeconds): must be 0…86400 (0: no limit)")
        }
        configuration.handshakeTimeoutSeconds = handshakeTimeoutSeconds
        guard (0...(30 * 86_400)).contains(idleTimeoutSeconds) else {
            throw DaemonError.invalidConfiguration("--idle-timeout-seconds \(idleTimeoutSeconds): must be 0…2592000 (0: no limit)")
        }
        configuration.idleTimeoutSeconds = idleTimeoutSeconds
        guard syncIntervalMs > 0 else { throw DaemonError.invalidConfiguration("--sync-interval-ms \(syncIntervalMs): must be > 0") }
        configuration.store.durability = switch durability {
        case .sync: .sync
        case .periodic: .periodic(milliseconds: syncIntervalMs)
        case .none: .none
        }
        if let capacity, capacity <= 0 { throw DaemonError.invalidConfiguration("--capacity \(capacity): must be > 0 bytes") }
        configuration.store.capacity = capacity
        if let ownerQuota, ownerQuota <= 0 { throw DaemonError.invalidConfiguration("--owner-quota \(ownerQuota): must be > 0 bytes") }
        configuration.store.ownerQuota = ownerQuota
        configuration.store.blockSharing = try Self.blockSharing(shareBlocks)
        guard mapSize > 0 else { throw DaemonError.invalidConfiguration("--map-size \(mapSize): must be > 0 bytes") }
        configuration.store.mapSize = mapSize
        guard (1...22).contains(compressionLevel) else { throw DaemonError.invalidConfiguration("--compression-level \(compressionLevel): must be 1…22") }
        configuration.store.compressionLevel = Int32(compressionLevel)
        if let metrics {
            do {
                configuration.metricsAddress = try MetricsAddress(parsing: metrics)
            } catch {
                throw DaemonError.invalidConfiguration("--metrics \(metrics): \(error)")
            }
        }
        try configuration.validate()
        return configuration
    }
}

extension Serve {
    /// The sharing groups of `--share-blocks` values (each a comma-separated list of uids).
    static func blockSharing(_ values: [String]) throws -> BlockSharing {
        var groups: [[UInt32]] = []
        for value in values {
            let uids = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let group = Optional(uids.compactMap { UInt32($0) }), group.count == uids.count else {
                throw DaemonError.invalidConfiguration("--share-blocks \(value): must be uids separated by commas, e.g. 1000,1001")
            }
            groups.append(group)
        }
        do {
            return try BlockSharing(groups: groups)
        } catch {
            throw DaemonError.invalidConfiguration("--share-blocks: \(error)")
        }
    }
}

/// `--durability` values.
enum DurabilityOption: String, ExpressibleByArgument, CaseIterable {
    case sync, periodic, none
}

/// `--log-level` values.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

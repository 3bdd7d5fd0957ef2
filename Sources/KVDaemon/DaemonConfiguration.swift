import ActQKV
import Foundation
import KVStore
import Protocol

/// Everything `kvd serve` is configured with. Defaults are documented per field and printed by
/// `kvd serve --help`.
public struct DaemonConfiguration: Sendable {
    /// Path of the Unix-domain socket to listen on (at most 107 bytes). No default.
    public var socketPath: String
    /// Directory holding the LMDB environment; created if missing. No default.
    public var dataDirectory: String
    /// Permission bits of the socket file. Default 0o660: owner and group may connect.
    public var socketMode: UInt32 = 0o660
    /// Group id given to the socket file, so that members of that group may connect.
    /// Default nil: the daemon's own group.
    public var socketGroup: UInt32? = nil
    /// Uids that see and may drop every session (administrators). Default `[0]` (root).
    /// Every other uid sees only the sessions it created.
    public var adminUIDs: Set<UInt32> = [0]
    /// Largest frame accepted from a client, in bytes after the length field, 64 KiB…1 GiB
    /// (the range the handshake allows). Default 64 MiB.
    public var maximumFrameBytes: Int = 64 << 20
    /// Requests of one connection the daemon takes up before the reply of the first is
    /// written, at most (``RequestLoop``): `appendBlocks` requests are checked, encoded and
    /// queued in the store while earlier ones commit; any other request still waits for every
    /// earlier reply. 1…64; 1 handles one request at a time. Default 4.
    public var appendPipelineDepth: Int = 4
    /// Connections served at once, at most; one more is sent `tooManyConnections` (request id 0)
    /// and closed. 1…1 048 576. Default 1024. At start-up kvd raises its soft `RLIMIT_NOFILE`
    /// toward the hard limit and lowers this (with a warning) when the descriptors cannot
    /// hold it (``ConnectionLimits/reservedDescriptors`` are kept for the store and the rest).
    public var maximumConnections: Int = 1024
    /// Connections of one peer uid (`SO_PEERCRED`) served at once, at most; one more is sent
    /// `tooManyConnections` and closed. 1…1 048 576 (above `maximumConnections` it is never
    /// reached). Default 256.
    public var maximumConnectionsPerUID: Int = 256
    /// Seconds a new connection may take to complete the handshake (its `hello` answered);
    /// then it is sent `connectionTimedOut` (request id 0) and closed. 0: no limit. Default 10.
    public var handshakeTimeoutSeconds: Int = 10
    /// Seconds a connection may stay without sending a request while none of its requests is
    /// in flight; then it is sent `connectionTimedOut` (request id 0) and closed (sessions it
    /// held open are released). 0: no limit. Default 0 — a worker holds its connection and
    /// sessions open between chunks for as long as it runs, and `KVClient` does not reconnect
    /// by itself unless configured to (docs/OPERATIONS.md "Limits").
    public var idleTimeoutSeconds: Int = 0
    /// Largest frame accepted before the handshake completed, in bytes after the length field
    /// (a `hello` is 10 bytes of body): a larger length prefix is answered with `frameTooLarge`
    /// and the connection closed, so a connection that never completes the handshake holds at
    /// most this much. 64 KiB, the smallest frame limit the handshake allows.
    public static let handshakeFrameBytes = Int(ProtocolLimits.minimumMaxFrameBytes)
    /// Number of NIO event-loop threads doing socket I/O and the cheap requests answered
    /// inline. Default 1 (store work runs on the request threads, never on an event loop).
    public var eventLoopThreads: Int = 1
    /// Number of threads executing requests (request loops, handlers, payload encoding and
    /// decoding: a ``DedicatedExecutor``), the daemon's own rather than the host process's
    /// Swift concurrency pool. 1…1024. Default ``defaultRequestThreads``.
    public var requestThreads: Int = Self.defaultRequestThreads
    /// One per core (as many as the cooperative pool has), at least 2: a request blocked in a
    /// page fault of the store's map then does not hold every other connection.
    public static var defaultRequestThreads: Int { max(2, ProcessInfo.processInfo.activeProcessorCount) }

    /// Largest number of blocks in one append or fetch request (told to clients in HelloOK).
    /// Default 4096.
    public var maximumBlocksPerRequest: Int = 4096
    /// The retrieval budget: tokens retrieved per layer per chunk, K·b. A session of b-token
    /// blocks gets K = budget / b blocks per layer for `infllm` and as each layer's share of the
    /// ActQKV pool (K·L blocks per chunk; docs/ACTQKV.md §"Parameters"). ≥ 1. Default 1,472
    /// (46 blocks of 32 tokens, 184 of 8).
    public var retrievalTokens: Int = Self.defaultRetrievalTokens
    /// Budget growth g: a layer of N closed blocks gets max(K, ⌈N/g⌉) blocks, K_max and the pool
    /// growing alike (docs/ACTQKV.md §"Parameters"). ≥ 0 (0: a fixed budget); default
    /// ActQKV's `RetrievalConfig.defaultBudgetGrowth`, 8.
    public var budgetGrowth: Int = Self.defaultBudgetGrowth
    /// The default budget: ActQKV's `RetrievalConfig.defaultRetrievalTokens`.
    public static var defaultRetrievalTokens: Int { RetrievalConfig.defaultRetrievalTokens }
    /// The default budget growth: ActQKV's `RetrievalConfig.defaultBudgetGrowth`.
    public static var defaultBudgetGrowth: Int { RetrievalConfig.defaultBudgetGrowth }
    /// A listening `AF_UNIX` stream socket passed by systemd (socket activation,
    /// `SocketActivation`) to serve instead of binding `socketPath`; kvd then neither creates nor
    /// removes the socket file (systemd owns it). Default nil: bind `socketPath`.
    public var listeningDescriptor: Int32? = nil
    /// Where to serve the Prometheus text endpoint (`GET /metrics`). Default nil: no endpoint.
    public var metricsAddress: MetricsAddress? = nil
    /// systemd readiness notifications (`READY=1` once serving, `STOPPING=1` at shutdown).
    /// Default nil: none.
    public var systemdNotifier: SystemdNotifier? = nil
    /// The shared tier (docs/TIER.md): a Redis Cluster acknowledged blocks are written behind
    /// to. Default nil: none (the store then queues nothing for upload).
    public var remote: RemoteTierConfiguration? = nil
    /// The store: LMDB environment under `dataDirectory`, durability, capacity, compression.
    /// Defaults are `StoreConfiguration`'s (durability sync, no capacity limit).
    public var store: StoreConfiguration

    /// Creates a configuration with the documented defaults for every other field.
    public init(socketPath: String, dataDirectory: String) {
        self.socketPath = socketPath
        self.dataDirectory = dataDirectory
        self.store = StoreConfiguration(directory: dataDirectory)
    }

    /// Checks field ranges; throws `DaemonError.invalidConfiguration`.
    public func validate() throws {
        if socketPath.isEmpty { throw DaemonError.invalidConfiguration("socket path is empty") }
        if dataDirectory.isEmpty { throw DaemonError.invalidConfiguration("data directory is empty") }
        if socketMode > 0o777 { throw DaemonError.invalidConfiguration("socket mode \(String(socketMode, radix: 8)) > 0777") }
        // The handshake (docs/PROTOCOL.md §4) announces 64 KiB…1 GiB; a client rejects anything else.
        let frameRange = Int(ProtocolLimits.minimumMaxFrameBytes)...Int(ProtocolLimits.absoluteMaxFrameBytes)
        if !frameRange.contains(maximumFrameBytes) {
            throw DaemonError.invalidConfiguration(
                "--max-frame-bytes \(maximumFrameBytes) is outside \(frameRange.lowerBound)…\(frameRange.upperBound) (64 KiB…1 GiB, the range the handshake allows)")
        }
        if maximumBlocksPerRequest < 1 { throw DaemonError.invalidConfiguration("maximum blocks per request < 1") }
        do {
            try RetrievalEngine(retrievalTokens: retrievalTokens, budgetGrowth: budgetGrowth).validate()
        } catch {
            throw DaemonError.invalidConfiguration("retrieval tokens \(retrievalTokens): \(error)")
        }
        if budgetGrowth < 0 { throw DaemonError.invalidConfiguration("budget growth \(budgetGrowth) < 0") }
        try remote?.validate()
        if eventLoopThreads < 1 { throw DaemonError.invalidConfiguration("event loop threads < 1") }
        if !(1...1024).contains(requestThreads) {
            throw DaemonError.invalidConfiguration("--request-threads \(requestThreads) is outside 1…1024")
        }
        if !(1...(1 << 20)).contains(maximumConnections) {
            throw DaemonError.invalidConfiguration("--max-connections \(maximumConnections) is outside 1…1048576")
        }
        if !(1...(1 << 20)).contains(maximumConnectionsPerUID) {
            throw DaemonError.invalidConfiguration("--max-connections-per-uid \(maximumConnectionsPerUID) is outside 1…1048576")
        }
        if !(0...86_400).contains(handshakeTimeoutSeconds) {
            throw DaemonError.invalidConfiguration("--handshake-timeout-seconds \(handshakeTimeoutSeconds) is outside 0…86400 (0: off)")
        }
        if !(0...(30 * 86_400)).contains(idleTimeoutSeconds) {
            throw DaemonError.invalidConfiguration("--idle-timeout-seconds \(idleTimeoutSeconds) is outside 0…2592000 (0: off)")
        }
        if !(1...64).contains(appendPipelineDepth) {
            throw DaemonError.invalidConfiguration("--append-pipeline \(appendPipelineDepth) is outside 1…64")
        }
    }
}

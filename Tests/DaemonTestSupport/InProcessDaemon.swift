import Foundation
import KVClient
import KVDaemon
import Logging
import Synchronization

/// A real kvd — KVDaemon's `DaemonServer`: NIO listener, request threads, LMDB store — running
/// in the test process on a temporary socket and data directory. The one in-process daemon of
/// the test targets (KVDaemonTests, KVClientTests, InferenceTests); tests against real kvd
/// processes are EndToEndTests'.
///
/// Defaults, before `configure`: `DaemonConfiguration`'s (durability `sync`), but a 1 GiB map
/// and log level warning.
public final class InProcessDaemon: Sendable {
    /// The directory holding the socket and the data directory.
    public let root: String
    /// The socket the daemon serves (`root/kvd.sock`).
    public let socketPath: String
    /// The data directory (`root/data`).
    public let dataPath: String
    /// The server.
    public let server: DaemonServer
    /// The task running `server.run()`: ends after ``stop()`` (or when the server fails).
    public let task: Task<Void, any Error>
    private let watched = Mutex<[@Sendable () -> String]>([])
    private let watchdog = Mutex<Task<Void, Never>?>(nil)

    /// Starts a daemon and waits (at most 30 s) until it answers a handshake.
    /// - Parameters:
    ///   - directory: an earlier daemon's root to serve again (a restart: same socket, same
    ///     data); default a fresh temporary directory.
    ///   - configure: changes to the configuration, after the defaults above.
    public init(directory: String? = nil, configure: (inout DaemonConfiguration) -> Void = { _ in }) async throws {
        let root = directory ?? NSTemporaryDirectory() + "kvd-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.root = root
        socketPath = root + "/kvd.sock"
        dataPath = root + "/data"
        var configuration = DaemonConfiguration(socketPath: socketPath, dataDirectory: dataPath)
        configuration.store.mapSize = 1 << 30
        configure(&configuration)
        var logger = Logger(label: "kvd-test")
        logger.logLevel = .warning
        let server = DaemonServer(configuration: configuration, logger: logger)
        self.server = server
        task = Task { try await server.run() }
        for _ in 0..<1500 {
            if let client = try? await KVClient.connect(socketPath: socketPath) {
                client.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // A server that could not start threw its reason.
        server.shutdown()
        try await task.value
        throw InProcessDaemonError(description: "the in-process kvd on \(socketPath) did not answer within 30 s")
    }

    /// A client connected to the daemon.
    public func connect() async throws -> KVClient { try await KVClient.connect(socketPath: socketPath) }

    /// Graceful shutdown; returns once the store is closed and the socket removed, throwing
    /// what `server.run()` threw. Then removes `root`, unless `keepingFiles` (to start a daemon
    /// on it again).
    public func stop(keepingFiles: Bool = false) async throws {
        watchdog.withLock { $0?.cancel() }
        server.shutdown()
        defer { if !keepingFiles { removeFiles() } }
        try await task.value
    }

    /// Removes `root` with the data directory.
    public func removeFiles() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Hang diagnostics: from the first call on, if the daemon has not been stopped 45 s later,
    /// writes `describe()` of every watched thing (e.g. a client's connection state) and the
    /// daemon's metrics (read in process, so the test's counts are untouched) to standard
    /// error, headed by `name`.
    public func watch(name: String = #function, _ describe: @escaping @Sendable () -> String) {
        watched.withLock { $0.append(describe) }
        watchdog.withLock { dog in
            guard dog == nil else { return }
            dog = Task { [self] in
                do {
                    try await Task.sleep(for: .seconds(45))
                } catch {
                    return
                }
                var report = "WATCHDOG \(name): " + watched.withLock { $0.map { $0() } }.joined(separator: "; ")
                // Read in process: a probe connection would itself show in the `connections`
                // and `requests` the test may still assert after a stall.
                let metrics = server.metricsRegistry.snapshot()
                let counters = metrics.counters.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                let gauges = metrics.gauges.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                report += " | daemon counters=\(counters) gauges=\(gauges)"
                FileHandle.standardError.write(Data((report + "\n").utf8))
            }
        }
    }
}

/// The in-process daemon did not start.
public struct InProcessDaemonError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs `body` with its tasks — child tasks and the continuations they await included — on
/// `threads` threads of their own instead of the cooperative pool, which other tests may keep
/// busy. For a client that must react to a reply before the daemon (on threads of its own too)
/// gets much further.
public func withDedicatedThreads<T: Sendable>(_ threads: Int = 2, _ body: () async throws -> T) async throws -> T {
    let executor = DedicatedExecutor(threads: threads, name: "test-client")
    defer { executor.shutdown() }
    return try await withTaskExecutorPreference(executor) { try await body() }
}

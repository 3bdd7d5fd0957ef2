import CoreTypes
import KVStore
import Logging
import RedisCluster
import Synchronization

/// kvd's shared tier (docs/TIER.md): the Redis Cluster client and the uploader writing the
/// store's upload queue behind. Created by the dispatcher when `DaemonConfiguration.remote` is
/// set; started once the daemon serves, stopped before the store closes.
final class RemoteTier: Sendable {
    let configuration: RemoteTierConfiguration
    let redis: RedisCluster
    let store: KVStore
    /// Which uids share blocks (the namespace a manifest records for its owner).
    let sharing: BlockSharing
    private let uploader: TierUploader
    private let running = Mutex<Task<Void, Never>?>(nil)
    /// Payload fetches in progress, by block id (``payloads(_:forSession:)``): a retrieve that
    /// needs a block another one is fetching waits for that fetch instead of asking again.
    let fetching = Mutex<[BlockID: PayloadFetch]>([:])
    let metrics: DaemonMetrics
    let logger: Logger

    init(configuration: RemoteTierConfiguration, store: KVStore, metrics: DaemonMetrics, logger: Logger) throws(RedisError) {
        self.configuration = configuration
        self.store = store
        sharing = store.configuration.blockSharing
        self.metrics = metrics
        self.logger = logger
        redis = try RedisCluster(configuration: configuration.client)
        uploader = TierUploader(store: store, redis: redis, configuration: configuration, metrics: metrics, logger: logger)
        uploader.whenIdle { [weak self] in await self?.publishChangedSessions() }
    }

    /// Marks a session for publication after `closeSession` (`putCheckpoint` marks it in its own
    /// transaction): the mark is kept in the store, so a kvd restarted before publishing still
    /// publishes it; the uploader does once the session's blocks are uploaded.
    func sessionClosed(_ name: String) async {
        do {
            try await store.markForPublication(session: name)
        } catch {
            // Dropped meanwhile (nothing to publish), or the store is closing.
            logger.debug("tier: session not marked for publication", metadata: ["session": "\(name)", "error": "\(error)"])
        }
        uploader.wake()
    }

    /// Tells the uploader a checkpoint was stored (and its session marked).
    func checkpointStored() { uploader.wake() }

    /// Publishes the sessions marked in the store; one whose blocks are still queued or whose
    /// publication failed stays marked (tried again when the queue is next empty), one dropped
    /// meanwhile has lost its mark with it.
    func publishChangedSessions() async {
        let marked: [(name: String, mark: UInt64)]
        do {
            marked = try store.sessionsToPublish()
        } catch {
            logger.error("tier: cannot read the sessions to publish", metadata: ["error": "\(error)"])
            return
        }
        for (name, mark) in marked {
            do {
                _ = try await publish(session: name)
                try await store.markPublished(session: name, mark: mark)
                metrics.add("tier.publications")
            } catch StoreError.sessionNotFound {
                continue
            } catch {
                if case TierError.blocksNotUploaded = error { continue }
                metrics.add("tier.publicationFailures")
                logger.warning("tier: cannot publish a session; retrying later", metadata: ["session": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Starts the uploader on `executor` (kvd's own threads).
    func start(on executor: any TaskExecutor) {
        running.withLock { task in
            guard task == nil else { return }
            task = Task(executorPreference: executor) { [uploader] in await uploader.run() }
        }
    }

    /// Tells the uploader that blocks were queued (it otherwise looks every 200 ms).
    func blocksQueued() { uploader.wake() }

    /// Passes of the uploader's loop so far (``TierUploader/passes``).
    var uploaderPasses: Int { uploader.passes }

    /// Stops the uploader and closes the client, interrupting a batch in flight (its blocks
    /// stay queued). What is still queued stays in the store for the next start.
    func stop() async {
        uploader.stop()
        redis.close()
        await running.withLock { $0 }?.value
    }

    /// The tier's counters for `stats` (`tier.redis.*`; the uploader's own are in the daemon's
    /// metrics).
    func counters() -> [String: UInt64] {
        let stats = redis.stats()
        return [
            "tier.redis.commands": stats.commands, "tier.redis.roundTrips": stats.roundTrips,
            "tier.redis.bytesSent": stats.bytesSent, "tier.redis.bytesReceived": stats.bytesReceived,
            "tier.redis.redirections": stats.redirections, "tier.redis.topologyRefreshes": stats.topologyRefreshes,
            "tier.redis.retries": stats.retries, "tier.redis.failedCommands": stats.failedCommands,
            "tier.redis.connectionsOpened": stats.connectionsOpened,
        ]
    }
}

import CoreTypes
import KVStore
import Logging
import RedisCluster
import Synchronization

/// Writes acknowledged blocks behind to the shared tier (docs/TIER.md "Writing behind"): takes
/// batches from the store's upload queue (``KVStore/pendingUploads(after:limit:maxBytes:)``),
/// `SET`s each stored payload under its content-addressed key with `WAIT` for the configured
/// replicas, and removes what the cluster acknowledged from the queue. Appends never wait for
/// it: with the cluster down the queue grows on disk and drains when the cluster returns.
///
/// One batch is in flight at a time (its masters in parallel): the in-flight bytes are bounded
/// by ``RemoteTierConfiguration/batchBytes``.
final class TierUploader: Sendable {
    private let store: KVStore
    private let redis: RedisCluster
    private let configuration: RemoteTierConfiguration
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let control = Mutex(Control())

    private struct Control {
        var stopping = false
        /// Run when the queue is empty (``RemoteTier`` publishes sessions then).
        var whenIdle: (@Sendable () async -> Void)? = nil
        /// Resumed by ``wake()`` or ``stop()`` while the loop idles.
        var waiter: CheckedContinuation<Void, Never>? = nil
        var woken = false
        /// Passes of the loop so far (each reads the queue once): an idle uploader makes about
        /// five a second.
        var passes = 0
    }

    /// Passes of ``run()``'s loop so far.
    var passes: Int { control.withLock { $0.passes } }

    init(store: KVStore, redis: RedisCluster, configuration: RemoteTierConfiguration, metrics: DaemonMetrics, logger: Logger) {
        self.store = store
        self.redis = redis
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Uploads until ``stop()``; returns after the batch in flight then.
    func run() async {
        var pause = Duration.milliseconds(100)
        while !control.withLock({ $0.stopping }) {
            control.withLock { $0.passes += 1 }
            let batch: [PendingUpload]
            do {
                batch = try store.pendingUploads(limit: 4096, maxBytes: configuration.batchBytes)
            } catch {
                logger.error("tier: cannot read the upload queue", metadata: ["error": "\(error)"])
                await idle(.seconds(1))
                continue
            }
            if batch.isEmpty {
                await control.withLock({ $0.whenIdle })?()
                await idle(.milliseconds(200))
                continue
            }
            let started = ContinuousClock.now
            let commands = batch.map { RedisCommand("SET", [Array(configuration.payloadKey($0.id).utf8), $0.stored]) }
            let results = await redis.pipeline(commands, replicas: configuration.replicas)
            var uploaded: [BlockID] = []
            var bytes = 0
            var lastError: RedisError? = nil
            for (upload, result) in zip(batch, results) {
                switch result {
                case .success: uploaded.append(upload.id); bytes += upload.stored.count
                case .failure(let error): lastError = error
                }
            }
            do {
                try await store.markUploaded(uploaded)
            } catch {
                // Not removed: uploaded again later (the same bytes under the same key).
                logger.warning("tier: cannot mark uploads done", metadata: ["error": "\(error)"])
            }
            metrics.add("tier.uploadedBlocks", UInt64(uploaded.count))
            metrics.add("tier.uploadedBytes", UInt64(bytes))
            metrics.time("tier.upload", seconds: (ContinuousClock.now - started).seconds)
            if lastError == .closed { break }  // stopping: the rest stays queued
            if let lastError {
                metrics.add("tier.uploadFailures", UInt64(batch.count - uploaded.count))
                logger.warning("tier: uploads failed; retrying later", metadata: [
                    "failed": "\(batch.count - uploaded.count)", "error": "\(lastError)", "retryIn": "\(pause)",
                ])
                await idle(pause)
                pause = min(pause * 2, .seconds(30))
            } else {
                pause = .milliseconds(100)
            }
        }
    }

    /// Sets the work done whenever the queue is empty.
    func whenIdle(_ work: @escaping @Sendable () async -> Void) {
        control.withLock { $0.whenIdle = work }
    }

    /// Ends ``run()`` after its batch in flight (``RemoteTier/stop()`` also interrupts that).
    func stop() {
        let waiter = control.withLock { control in
            control.stopping = true
            defer { control.waiter = nil }
            return control.waiter
        }
        waiter?.resume()
    }

    /// Ends an idle wait early (new blocks were queued).
    func wake() {
        let waiter = control.withLock { control in
            control.woken = true
            defer { control.waiter = nil }
            return control.waiter
        }
        waiter?.resume()
    }

    /// Sleeps up to `duration`, or until ``wake()`` / ``stop()``.
    private func idle(_ duration: Duration) async {
        let timer = Task {
            // Cancelled when the wait ended otherwise: then it must not wake the next wait (a
            // cancelled timer waking each next idle() at once made the uploader spin).
            guard (try? await Task.sleep(for: duration)) != nil else { return }
            self.wake()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = control.withLock { control in
                if control.stopping || control.woken {
                    control.woken = false
                    return true
                }
                control.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        control.withLock { $0.woken = false }
        timer.cancel()
    }
}

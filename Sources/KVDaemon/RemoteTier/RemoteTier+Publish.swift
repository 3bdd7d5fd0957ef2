import CoreTypes
import KVStore
import RedisCluster

extension RemoteTier {
    /// The session's manifest in the cluster, or nil when it has none. `retryTimeout`: the
    /// budget for a cluster that does not answer (default the client's).
    func manifest(of name: String, retryTimeout: Duration? = nil) async throws(TierError) -> SessionManifest? {
        let reply: RedisReply
        do {
            reply = try await redis.send(RedisCommand(["GET", configuration.manifestKey(name)]), retryTimeout: retryTimeout)
        } catch {
            throw .redis(error)
        }
        guard let bytes = reply.bytes else { return nil }
        do {
            return try SessionManifest.decode(bytes)
        } catch {
            throw .manifest(error)
        }
    }

    /// Publishes session `name` (docs/TIER.md): the next generation's representative keys and
    /// checkpoint, then the manifest naming them — the commit point — then the previous
    /// generation's keys are deleted. Every write waits for the configured replicas. Throws
    /// ``TierError/blocksNotUploaded(count:)`` while blocks of the session are queued, and the
    /// store's or the cluster's error. Returns the generation published.
    func publish(session name: String) async throws -> UInt64 {
        let snapshot = try store.snapshot(session: name)
        let ids = snapshot.layers.flatMap { $0.map(\.info.id) }
        let queued = try store.queuedForUpload(ids)
        guard queued.isEmpty else { throw TierError.blocksNotUploaded(count: queued.count) }
        let previous = try await manifest(of: name)
        let generation = (previous?.generation ?? 0) + 1
        let manifest = SessionManifest(snapshot: snapshot, generation: generation, namespace: sharing.namespace(of: snapshot.record.owner))

        var parts: [RedisCommand] = snapshot.layers.enumerated().map { layer, blocks in
            var bytes = ByteWriter(reservingCapacity: blocks.count * snapshot.record.descriptor.vectorDimension * 4)
            for block in blocks { bytes.floats(block.key) }
            return RedisCommand("SET", [Array(configuration.keysKey(name, generation: generation, layer: layer).utf8), bytes.bytes])
        }
        if let checkpoint = snapshot.checkpoint {
            parts.append(RedisCommand("SET", [Array(configuration.checkpointKey(name, generation: generation).utf8), checkpoint]))
        }
        for result in await redis.pipeline(parts, replicas: configuration.replicas) {
            if case .failure(let error) = result { throw TierError.redis(error) }
        }
        if case .failure(let error) = await redis.pipeline([RedisCommand("SET", [Array(configuration.manifestKey(name).utf8), manifest.encoded()])], replicas: configuration.replicas)[0] {
            throw TierError.redis(error)
        }
        if let previous {
            // Garbage once the new manifest is in: a failure here only leaves it behind.
            var stale = (0..<previous.layers.count).map { configuration.keysKey(name, generation: previous.generation, layer: $0) }
            stale.append(configuration.checkpointKey(name, generation: previous.generation))
            _ = await redis.pipeline(stale.map { RedisCommand(["DEL", $0]) })
        }
        return generation
    }
}

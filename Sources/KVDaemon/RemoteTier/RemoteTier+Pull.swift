import CoreTypes
import Foundation
import KVStore
import RedisCluster

extension RemoteTier {
    /// Materialises session `name` (as stored: `"<uid>/<name>"`) from the cluster (docs/TIER.md
    /// "Reading through"): its manifest, then that generation's representative keys and
    /// checkpoint; the payloads stay in the cluster until a retrieve or fetch needs them
    /// (``payloads(_:forSession:)``). Returns nil when the cluster holds no such session.
    /// Throws ``TierError`` — `.foreignOwner` when the manifest's owner or namespace is not the
    /// one this node gives the name's uid (never materialised), `.manifest` for unusable bytes,
    /// `.redis` when the cluster does not answer within ``RemoteTierConfiguration/readTimeout``
    /// — or the store's error (`.sessionExists` when another request materialised it first).
    func pull(session name: String) async throws -> SessionRecord? {
        for _ in 0..<2 {
            guard let manifest = try await manifest(of: name, retryTimeout: configuration.readTimeout) else { return nil }
            guard manifest.name == name else { throw TierError.manifest(.malformed("the manifest under \(name) names \(manifest.name)")) }
            guard let uid = SessionAddress(storeName: name)?.owner, manifest.owner == uid, manifest.namespace == sharing.namespace(of: uid) else {
                throw TierError.foreignOwner(session: name)
            }
            guard manifest.layers.allSatisfy({ $0.allSatisfy { $0.rawBytes == manifest.descriptor.payloadBytes } }) else {
                throw TierError.manifest(.malformed("a block's raw length is not the descriptor's \(manifest.descriptor.payloadBytes) bytes"))
            }
            var commands = (0..<manifest.layers.count).map {
                RedisCommand(["GET", configuration.keysKey(name, generation: manifest.generation, layer: $0)])
            }
            if manifest.hasCheckpoint {
                commands.append(RedisCommand(["GET", configuration.checkpointKey(name, generation: manifest.generation)]))
            }
            var replies: [[UInt8]?] = []
            for result in await redis.pipeline(commands, retryTimeout: configuration.readTimeout) {
                switch result {
                case .success(let reply): replies.append(reply.bytes)
                case .failure(let error): throw TierError.redis(error)
                }
            }
            // A newer publication deleted this generation's keys meanwhile: read the manifest again.
            guard replies.allSatisfy({ $0 != nil }) else { continue }
            let dimension = manifest.descriptor.vectorDimension
            var layers: [[SnapshotBlock]] = []
            for (layer, entries) in manifest.layers.enumerated() {
                let bytes = replies[layer]!
                guard bytes.count == entries.count * dimension * 4 else {
                    throw TierError.manifest(.malformed("layer \(layer): \(bytes.count) bytes of keys for \(entries.count) blocks of D = \(dimension)"))
                }
                var reader = ByteReader(bytes[...], failure: ManifestError.self)
                var blocks: [SnapshotBlock] = []
                blocks.reserveCapacity(entries.count)
                for entry in entries {
                    let key: [Float]
                    do { key = try reader.floats(count: dimension) } catch { throw TierError.manifest(error) }
                    guard key.allSatisfy(\.isFinite) else { throw TierError.manifest(.malformed("layer \(layer): a key holds NaN or infinity")) }
                    blocks.append(SnapshotBlock(
                        info: BlockInfo(id: entry.id, layer: layer, codec: 0, referenceCount: 0, rawBytes: entry.rawBytes,
                                        storedBytes: entry.storedBytes, checksum: entry.checksum, prefixHash: entry.prefixHash),
                        key: key))
                }
                layers.append(blocks)
            }
            let now = UInt64(Date().timeIntervalSince1970)
            let snapshot = SessionSnapshot(
                record: SessionRecord(name: name, id: 0, owner: manifest.owner, descriptor: manifest.descriptor,
                                      blocksPerLayer: layers.map(\.count), createdAt: now, lastUsed: now, storedBytes: 0,
                                      hasCheckpoint: manifest.hasCheckpoint),
                layers: layers, checkpoint: manifest.hasCheckpoint ? replies.last! : nil)
            let record = try await store.materialize(snapshot, namespace: manifest.namespace)
            metrics.add("tier.pulledSessions")
            metrics.add("tier.pulledKeyBytes", UInt64(replies.reduce(0) { $0 + $1!.count }))
            return record
        }
        throw TierError.manifest(.malformed("the session was published again twice while it was read"))
    }

    /// The raw payloads of `blocks` (remote blocks of session `session`, ``PayloadRead/remote(_:)``)
    /// fetched from the cluster in one pipelined call, each checked against the lengths and
    /// checksum its writer published before use, then stored locally for the next reader
    /// (``KVStore/storePulled(_:forSession:)``; when the node's capacity or the owner's quota
    /// has no room they are served without being kept). A block that another request is fetching
    /// already is taken from that fetch (`tier.downloadsJoined`), not asked for again; if that
    /// fetch fails, this one asks itself. Throws ``TierError`` — `.payloadMissing` for a block the
    /// cluster does not hold, `.payloadMismatch` (counted in `tier.verificationFailures`) for bytes
    /// that fail the check: never served.
    func payloads(_ blocks: [BlockInfo], forSession session: String) async throws(TierError) -> [[UInt8]] {
        let (own, joined): (PayloadFetch?, Set<PayloadFetch>) = fetching.withLock { fetching in
            var mine: [BlockInfo] = [], seen = Set<BlockID>(), joined = Set<PayloadFetch>()
            for info in blocks {
                if let fetch = fetching[info.id] { joined.insert(fetch) } else if seen.insert(info.id).inserted { mine.append(info) }
            }
            guard !mine.isEmpty else { return (nil, joined) }
            // Registered before anyone else can look; the fetch removes its ids when done.
            let wanted = mine
            let fetch = PayloadFetch { @Sendable in
                defer { self.fetching.withLock { for info in wanted { $0[info.id] = nil } } }
                do throws(TierError) { return .success(try await self.fetch(wanted, forSession: session)) } catch { return .failure(error) }
            }
            for info in wanted { fetching[info.id] = fetch }
            return (fetch, joined)
        }
        var got: [BlockID: [UInt8]] = [:]
        if let own { got = try await own.value.get() }
        var shared = 0
        for fetch in joined {
            guard case .success(let theirs) = await fetch.value else { continue }
            for info in blocks where got[info.id] == nil {
                if let bytes = theirs[info.id] { got[info.id] = bytes; shared += 1 }
            }
        }
        if shared > 0 { metrics.add("tier.downloadsJoined", UInt64(shared)) }
        let missing = blocks.filter { got[$0.id] == nil }
        if !missing.isEmpty {
            for (id, bytes) in try await fetch(missing, forSession: session) { got[id] = bytes }
        }
        return blocks.map { got[$0.id]! }
    }

    /// One pipelined fetch of `blocks` (distinct ids): checked, counted, kept; by id.
    private func fetch(_ blocks: [BlockInfo], forSession session: String) async throws(TierError) -> [BlockID: [UInt8]] {
        let started = ContinuousClock.now
        let results = await redis.pipeline(blocks.map { RedisCommand(["GET", configuration.payloadKey($0.id)]) })
        var fetched: [(stored: [UInt8], info: BlockInfo)] = []
        fetched.reserveCapacity(blocks.count)
        for (info, result) in zip(blocks, results) {
            switch result {
            case .success(let reply):
                guard let bytes = reply.bytes else { throw .payloadMissing(info.id) }
                fetched.append((bytes, info))
            case .failure(let error):
                throw .redis(error)
            }
        }
        let decoded = PayloadCodec.decode(matching: fetched)  // over the cores
        if let bad = decoded.firstIndex(where: { $0 == nil }) {
            metrics.add("tier.verificationFailures")
            throw .payloadMismatch(fetched[bad].info.id)
        }
        metrics.add("tier.downloadedBlocks", UInt64(fetched.count))
        metrics.add("tier.downloadedBytes", UInt64(fetched.reduce(0) { $0 + $1.stored.count }))
        metrics.time("tier.download", seconds: (ContinuousClock.now - started).seconds)
        do {
            try await store.storePulled(fetched.map { ($0.info.id, $0.stored) }, forSession: session)
        } catch {
            metrics.add("tier.downloadsNotKept")
            logger.notice("tier: fetched payloads served but not kept", metadata: ["session": "\(session)", "error": "\(error)"])
        }
        return Dictionary(uniqueKeysWithValues: zip(blocks.map(\.id), decoded.map { $0! }))
    }
}

/// A fetch of payloads from the cluster that several requests may wait for (``RemoteTier/fetching``).
typealias PayloadFetch = Task<Result<[BlockID: [UInt8]], TierError>, Never>

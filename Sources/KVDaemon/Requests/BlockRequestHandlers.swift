import CoreTypes
import Foundation
import KVStore
import Protocol

extension RequestDispatcher {
    func appendBlocks(_ request: AppendBlocks, connection: ConnectionState) async throws -> Message {
        try await appended(submitAppend(request, connection: connection))
    }

    /// Checks an append against the session and the peer's rights, encodes its payloads and
    /// queues it in the store (in the order of calls: see ``KVStore/submit(_:)``); returns
    /// without waiting for the commit. Throws the typed error of an invalid request (nothing
    /// queued then).
    func submitAppend(_ request: AppendBlocks, connection: ConnectionState) async throws -> QueuedAppend {
        let record = try visibleSession(request.session, connection: connection)
        let descriptor = record.descriptor
        var blocks: [NewBlock] = []
        blocks.reserveCapacity(request.blocks.count)
        for block in request.blocks {
            guard Int(block.layer) < descriptor.layers else {
                throw ProtocolError(.badPosition, "layer \(block.layer) ≥ \(descriptor.layers) layers")
            }
            guard block.representativeKey.count == descriptor.vectorDimension else {
                throw ProtocolError(.wrongDimensions, "representative key has \(block.representativeKey.count) floats, the session's D is \(descriptor.vectorDimension)")
            }
            guard block.representativeKey.allSatisfy(\.isFinite) else {
                throw ProtocolError(.badArgument, "representative key of layer \(block.layer) position \(block.position) holds NaN or infinity")
            }
            guard block.payload.count == descriptor.payloadBytes else {
                throw ProtocolError(.wrongDimensions, "payload has \(block.payload.count) bytes, the session's blocks have \(descriptor.payloadBytes)")
            }
            blocks.append(NewBlock(
                layer: Int(block.layer), position: Int(block.position), prefixHash: block.prefixHash,
                representativeKey: block.representativeKey, payload: block.payload))
        }
        let prepared = try await store.prepareAppend(session: record.name, blocks: blocks)
        return QueuedAppend(write: store.submit(prepared), rawBytes: prepared.rawBytes)
    }

    /// Waits for the commit of an append queued by ``submitAppend(_:connection:)``, counts it
    /// and returns its reply; throws what the append failed with.
    func appended(_ queued: QueuedAppend) async throws -> Message {
        let ids = try await queued.write.appendedIDs()
        forgetEvictedSessions()
        metrics.add("blocks.appended", UInt64(ids.count))
        metrics.add("bytes.appended", UInt64(queued.rawBytes))
        tier?.blocksQueued()
        return .appended(Appended(ids: ids))
    }

    func retrieve(_ request: RetrieveRequest, connection: ConnectionState) async throws -> Message {
        var (result, chosenIDs, record) = try select(request, connection: connection)
        if request.wantPayloads {
            let held = Set(request.heldIDs)
            let missing = result.chosen.indices.filter { !held.contains(result.chosen[$0].id) }
            // Refuse a reply the client cannot take before reading and decoding any payload.
            try checkReplySize(
                blocks: missing.count, bytesPerBlock: record.descriptor.payloadBytes + Self.perPayloadOverhead,
                fixed: result.chosen.count * Self.perChosenOverhead, what: "retrieve with payloads", connection: connection)
            if !missing.isEmpty {
                let bytes = try await self.payloads(missing.map { chosenIDs[$0] }, session: record.name)
                result.payloads = zip(missing, bytes).map { RecalledPayload(index: UInt32($0), payload: $1[...]) }
            }
        }
        metrics.add("blocks.sent", UInt64(result.payloads.count))
        return .retrieved(result)
    }

    /// A retrieve that asks for no payloads: synchronous (selection only), so it may run on the
    /// event loop when the layer is small.
    func retrieveWithoutPayloads(_ request: RetrieveRequest, connection: ConnectionState) throws -> Message {
        precondition(!request.wantPayloads)
        return .retrieved(try select(request, connection: connection).result)
    }

    /// Scores the layer's blocks and chooses (checks, selection, counts); the reply without
    /// payloads, the stored ids of the chosen blocks and the session's record.
    private func select(
        _ request: RetrieveRequest, connection: ConnectionState
    ) throws -> (result: RetrieveResult, chosenIDs: [BlockID], record: SessionRecord) {
        let record = try visibleSession(request.session, connection: connection)
        let descriptor = record.descriptor
        guard Int(request.layer) < descriptor.layers else {
            throw ProtocolError(.badPosition, "layer \(request.layer) ≥ \(descriptor.layers) layers")
        }
        guard request.probe.count == descriptor.vectorDimension else {
            throw ProtocolError(.wrongDimensions, "probe has \(request.probe.count) floats, the session's D is \(descriptor.vectorDimension)")
        }
        // A NaN would poison every score, the entropy and the session's density history.
        guard request.probe.allSatisfy(\.isFinite),
              request.question.map({ $0.weight.isFinite && $0.vector.allSatisfy(\.isFinite) }) ?? true
        else {
            throw ProtocolError(.badArgument, "probe or question holds NaN or infinity")
        }
        let maximumChosen = Int(limits.maxBlocksPerRequest)
        let (selection, total, chosenIDs) = try store.withRepresentativeKeys(session: record.name, layer: Int(request.layer)) { keys in
            // `dense` chooses every block: refuse before touching the session's retrieval state.
            if request.method == .dense && keys.count > maximumChosen {
                throw ProtocolError(
                    .limitExceeded,
                    "dense retrieve of layer \(request.layer): \(keys.count) blocks exceed maxBlocksPerRequest \(maximumChosen)")
            }
            let selection = try retrieval.select(
                session: record.id, layers: descriptor.layers, blockSize: descriptor.blockSize, request: request,
                keys: keys.keys, count: keys.count)
            return (selection, keys.count, selection.chosen.map { keys.ids[$0] })
        }
        // Any method: a reply with more chosen blocks than the limit would be rejected by the client.
        guard selection.chosen.count <= maximumChosen else {
            throw ProtocolError(
                .limitExceeded, "retrieve chose \(selection.chosen.count) blocks, more than maxBlocksPerRequest \(maximumChosen)")
        }
        let chosen = zip(selection.chosen, chosenIDs).map { ChosenBlock(id: $1, position: UInt32($0)) }
        metrics.add("blocks.recalled", UInt64(chosen.count))
        let result = RetrieveResult(
            k: UInt32(clamping: selection.k), entropy: selection.entropy, density: selection.density,
            totalBlocks: UInt32(clamping: total), chosen: chosen, payloads: [])
        return (result, chosenIDs, record)
    }

    /// Wire bytes of a reply beyond a payload's own bytes, per payload (index, length) and per
    /// chosen block (id, position), rounded up; and per fetched block beyond its payload and key.
    static let perPayloadOverhead = 16
    static let perChosenOverhead = 32
    static let perFetchedOverhead = 64

    /// Throws `limitExceeded` when a reply of `blocks` × `bytesPerBlock` + `fixed` bytes would
    /// exceed the largest frame the client accepts — checked before any payload is read, so a
    /// request for more than the client can take costs the daemon nothing.
    func checkReplySize(blocks: Int, bytesPerBlock: Int, fixed: Int, what: String, connection: ConnectionState) throws {
        let limit = Int(connection.clientMaximumFrameBytes ?? ProtocolLimits.defaultMaxFrameBytes)
        let size = blocks * bytesPerBlock + fixed + 64
        guard size <= limit else {
            throw ProtocolError(
                .limitExceeded,
                "\(what): \(blocks) blocks of \(bytesPerBlock) bytes make a \(size)-byte reply, above the client's frame limit of \(limit) bytes; ask for fewer")
        }
    }

    /// Drops the retrieval states of sessions the store evicted (their ids never come back).
    func forgetEvictedSessions() {
        let evictions = store.evictionCount
        guard seenEvictions.withLock({ seen in
            defer { seen = evictions }
            return seen != evictions
        }) else { return }
        retrieval.forgetAll(except: Set(store.sessions().map(\.id)))
    }
}

extension RequestDispatcher {
    /// Reads and decodes the payloads of `ids` (blocks of session `session`, its store name),
    /// split over the cores when there are many (decompression is the bulk of a retrieve with
    /// payloads); order is kept. Payloads of blocks materialised from the shared tier and not
    /// held yet are fetched from it, checked and kept (``RemoteTier/payloads(_:forSession:)``);
    /// a fetch that fails or does not check out is `storageError`, never served.
    func payloads(_ ids: [BlockID], session: String) async throws -> [[UInt8]] {
        let parts = min(ProcessInfo.processInfo.activeProcessorCount, 4, ids.count / 8)
        var reads: [PayloadRead]
        if parts > 1 {
            let chunk = (ids.count + parts - 1) / parts
            let store = self.store
            reads = try await withThrowingTaskGroup(of: (Int, [PayloadRead]).self) { group in
                for part in 0..<parts {
                    let slice = Array(ids[(part * chunk)..<min(ids.count, (part + 1) * chunk)])
                    group.addTask { (part, try store.readPayloads(slice)) }
                }
                var results = [[PayloadRead]](repeating: [], count: parts)
                for try await (part, read) in group { results[part] = read }
                return results.flatMap { $0 }
            }
        } else {
            reads = try store.readPayloads(ids)
        }
        var remote: [(index: Int, info: BlockInfo)] = []
        var out = reads.enumerated().map { index, read -> [UInt8] in
            switch read {
            case .held(let bytes): return bytes
            case .remote(let info):
                remote.append((index, info))
                return []
            }
        }
        guard !remote.isEmpty else { return out }
        guard let tier else {
            throw ProtocolError(.storageError, "\(remote.count) payloads are held by a shared tier this kvd is not configured with")
        }
        do {
            let fetched = try await tier.payloads(remote.map(\.info), forSession: session)
            for (block, bytes) in zip(remote, fetched) { out[block.index] = bytes }
        } catch {
            throw ProtocolError(.storageError, "shared tier: \(error)")
        }
        return out
    }

    /// Fetches blocks of a session by id. Only ids referenced by the session are served (an id
    /// of another session's block is `blockNotFound`, even if it exists). `prefixHash` is the
    /// one the block was appended with (zero for blocks stored before the store kept it).
    func fetchBlocks(_ request: FetchBlocks, connection: ConnectionState) async throws -> Message {
        let record = try visibleSession(request.session, connection: connection)
        let descriptor = record.descriptor
        let dimension = descriptor.vectorDimension
        let wanted = Set(request.ids)
        guard wanted.count == request.ids.count else {
            throw ProtocolError(.badArgument, "fetchBlocks names \(request.ids.count - wanted.count) ids more than once; name each block once")
        }
        try checkReplySize(
            blocks: wanted.count, bytesPerBlock: descriptor.payloadBytes + 4 * dimension + Self.perFetchedOverhead, fixed: 0,
            what: "fetchBlocks", connection: connection)
        var found: [BlockID: (layer: Int, position: Int, key: [Float])] = [:]
        for layer in 0..<descriptor.layers where found.count < wanted.count && record.blocksPerLayer[layer] > 0 {
            try store.withRepresentativeKeys(session: record.name, layer: layer) { keys in
                for (position, id) in keys.ids.enumerated() where wanted.contains(id) && found[id] == nil {
                    let row = keys.keys[(position * dimension)..<((position + 1) * dimension)]
                    found[id] = (layer, position, Array(row))
                }
            }
        }
        let ids = request.ids
        for id in ids where found[id] == nil {
            throw ProtocolError(.blockNotFound, "block \(id) is not in session \"\(SessionName.printable(request.session))\"")
        }
        let payloads = try await self.payloads(ids, session: record.name)
        let prefixes = try ids.map { id in try store.blockInfo(id)?.prefixHash ?? PrefixHash(high: 0, low: 0) }
        let blocks = zip(ids, zip(payloads, prefixes)).map { id, stored in
            let (payload, prefix) = stored
            let meta = found[id]!
            return StoredBlock(id: id, record: BlockRecord(
                layer: UInt16(meta.layer), position: UInt32(meta.position), prefixHash: prefix,
                representativeKey: meta.key, payload: payload[...]))
        }
        metrics.add("blocks.fetched", UInt64(blocks.count))
        return .blocks(FetchedBlocks(blocks: blocks))
    }
}

import CLMDB
import CoreTypes
import Foundation

/// The single writer: a dedicated thread that takes every queued write request, applies them in
/// one LMDB write transaction (each request in its own nested transaction, so one failing
/// request changes nothing and does not fail the others), commits once (fsynced in `.sync`
/// mode), publishes the changes to the in-memory state, and only then completes the requests.
final class StoreWriter: @unchecked Sendable {
    /// Totals the writer maintains across transactions (restored when a transaction aborts).
    struct Counters {
        var totals = StoreState.Totals()
        var nextSessionID: UInt64 = 1
        /// Bytes charged to each owner namespace: stored bytes of the distinct blocks written in
        /// it plus the checkpoints of its owners' sessions (what `ownerQuota` limits).
        var usage: [UInt32: Int] = [:]
    }

    private let core: StoreCore
    private var counters: Counters
    /// The background flusher in `.periodic` mode.
    let flusher: PeriodicFlusher?
    private let finished = NSCondition()
    private var isFinished = false

    init(core: StoreCore, counters: Counters) {
        self.core = core
        self.counters = counters
        if case let .periodic(ms) = core.configuration.durability {
            flusher = PeriodicFlusher(interval: Double(max(1, ms)) / 1000, lmdb: core.lmdb) { [core] in
                core.state.withLock { $0.flushes += 1 }
            }
        } else {
            flusher = nil
        }
    }

    /// Starts the writer thread.
    func start() {
        let t = Thread { [self] in self.run() }
        t.name = "kvstore-writer"
        t.start()
    }

    /// Blocks until the writer thread has ended.
    func waitUntilFinished() {
        finished.lock()
        while !isFinished { finished.wait() }
        finished.unlock()
    }

    private func run() {
        let limit = max(1, core.configuration.maxBatch)
        while true {
            let (requests, close) = core.queue.take(limit: limit, byteLimit: max(1, core.configuration.maxBatchBytes))
            if !requests.isEmpty { process(requests) }
            if let close {
                flusher?.stop()
                syncNow()
                close()
                finished.lock()
                isFinished = true
                finished.broadcast()
                finished.unlock()
                return
            }
        }
    }

    /// The final flush at close (every mode).
    private func syncNow() {
        if (try? core.lmdb.sync()) != nil {
            core.state.withLock { $0.flushes += 1 }
        }
    }

    // MARK: - Group commit

    /// Commits `requests` as one group and completes them. Requests that failed with
    /// `.mapFull` or `.diskFull` are retried once after a spacer commit: LMDB reuses pages freed by a
    /// transaction only two transactions later, so space just freed by a drop or an eviction
    /// becomes available only after one more commit.
    private func process(_ requests: [WriteRequest]) {
        var results = commitGroup(requests)
        // A request that overflowed LMDB's per-transaction dirty-page limit together with the
        // rest of its group is retried in a transaction of its own.
        for i in results.indices where requests.count > 1 {
            if case .failure(.lmdb(code: MDB_TXN_FULL)) = results[i] { results[i] = commitGroup([requests[i]])[0] }
        }
        let full = results.indices.filter {
            switch results[$0] {
            case .failure(.mapFull), .failure(.diskFull): true
            default: false
            }
        }
        if !full.isEmpty, spacerCommit() {
            let retried = commitGroup(full.map { requests[$0] })
            for (i, r) in zip(full, retried) { results[i] = r }
        }
        core.state.withLock { $0.writeRequests += requests.count }
        for (request, result) in zip(requests, results) { request.complete(result) }
    }

    /// One LMDB write transaction (each request in a nested one); publishes committed changes to
    /// the in-memory state and returns each request's result, in order.
    private func commitGroup(_ requests: [WriteRequest]) -> [Result<WriteOutcome, StoreError>] {
        let before = counters
        var results: [Result<WriteOutcome, StoreError>] = []
        var events: [StoreEvent] = []
        var outerError: StoreError?
        do throws(StoreError) {
            let txn = try core.lmdb.write()
            var dropped = Set<String>()
            for request in requests {
                var opEvents: [StoreEvent] = []
                var opDropped = dropped
                let opBefore = counters
                do throws(StoreError) {
                    let child = try core.lmdb.write(parent: txn)
                    let outcome: WriteOutcome
                    do throws(StoreError) {
                        outcome = try apply(request.operation, txn: child, events: &opEvents, dropped: &opDropped)
                    } catch {
                        child.abort()
                        throw error
                    }
                    try child.commit()  // frees the child even when it fails
                    results.append(.success(outcome))
                    events += opEvents
                    dropped = opDropped
                } catch {
                    counters = opBefore
                    results.append(.failure(error))
                }
            }
            do throws(StoreError) {
                try txn.commit()  // frees the transaction even when it fails
            } catch {
                outerError = core.lmdb.classifyWriteFailure(error)
            }
        } catch {
            outerError = error
        }

        if let outerError {
            counters = before
            if requests.count > 1 {
                // Something in the group made the commit itself fail (map or disk full while
                // writing the free list): commit each request alone so only the culprit fails.
                return requests.flatMap { commitGroup([$0]) }
            }
            return [.failure(outerError)]
        }

        flusher?.markDirty()
        let totals = counters.totals, usage = counters.usage
        core.state.withLock { s in
            for e in events { s.apply(e) }
            s.totals = totals
            s.usage = usage
            s.commits += 1
        }
        return results
    }

    /// Commits a tiny change (`meta["generation"]` += 1) so that pages freed by the previous
    /// commit become reusable. Returns whether it committed.
    private func spacerCommit() -> Bool {
        do throws(StoreError) {
            let txn = try core.lmdb.write()
            do throws(StoreError) {
                let key = Array("generation".utf8)
                let old = try txn.get(core.lmdb.meta, key).map { $0.count == 8 ? ByteCoding.uint64($0, at: 0) : 0 } ?? 0
                var w = ByteWriter()
                w.u64(old &+ 1)
                try txn.put(core.lmdb.meta, key, w.bytes)
            } catch {
                txn.abort()
                throw error
            }
            try txn.commit()
            // As after a group's commit: the flusher learns of the commit before it is counted,
            // so no reader of the counters sees a commit the flusher does not know about.
            flusher?.markDirty()
            core.state.withLock { $0.commits += 1 }
            return true
        } catch {
            return false
        }
    }

    // MARK: - Operations (inside a nested write transaction)

    private func apply(
        _ operation: WriteOperation, txn: Transaction, events: inout [StoreEvent], dropped: inout Set<String>
    ) throws(StoreError) -> WriteOutcome {
        switch operation {
        case let .create(name, owner, descriptor):
            guard try txn.get(core.lmdb.sessions, StorageKeys.session(name)) == nil else { throw .sessionExists }
            let id = try allocateSessionID(txn)
            let now = StoreCore.now()
            let record = SessionRecord(
                name: name, id: id, owner: owner, descriptor: descriptor,
                blocksPerLayer: Array(repeating: 0, count: descriptor.layers),
                createdAt: now, lastUsed: now, storedBytes: 0, hasCheckpoint: false)
            try txn.put(core.lmdb.sessions, StorageKeys.session(name), SessionValue(id: id, record: record, useSequence: nextUse()).encoded())
            events.append(.created(id: id, record: record))
            return .record(record)

        case let .uploaded(ids):
            for id in ids {
                guard try txn.delete(core.lmdb.uploads, StorageKeys.block(id)) else { continue }
                guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
                counters.totals.pendingUploads -= 1
                counters.totals.pendingUploadBytes -= try BlockMeta.decodeHeader(v).0.storedLength
            }
            return .done

        case let .drop(name):
            try dropSession(name, txn: txn)
            dropped.insert(name)
            events.append(.dropped(name: name, evicted: false))
            return .done

        case let .fork(source, name, owner, n):
            guard try txn.get(core.lmdb.sessions, StorageKeys.session(name)) == nil else { throw .sessionExists }
            let src = try loadSession(source, txn: txn)
            let available = src.record.blocksPerLayer.min() ?? 0
            guard n >= 0, n <= available else { throw .badPosition(expected: available, got: n) }
            let id = try allocateSessionID(txn)
            var stored = 0
            for layer in 0..<src.record.descriptor.layers {
                for position in 0..<n {
                    guard let v = try txn.get(core.lmdb.layers, StorageKeys.layerEntry(session: src.id, layer: layer, position: position)),
                          v.count == 16 else { throw .corrupt }
                    let block = BlockID(bytes: v)
                    try txn.put(core.lmdb.layers, StorageKeys.layerEntry(session: id, layer: layer, position: position), block.bytes)
                    stored += try retain(block, txn: txn)
                }
            }
            let now = StoreCore.now()
            let record = SessionRecord(
                name: name, id: id, owner: owner, descriptor: src.record.descriptor,
                blocksPerLayer: Array(repeating: n, count: src.record.descriptor.layers),
                createdAt: now, lastUsed: now, storedBytes: stored, hasCheckpoint: false)
            try txn.put(core.lmdb.sessions, StorageKeys.session(name), SessionValue(id: id, record: record, useSequence: nextUse()).encoded())
            events.append(.forked(id: id, record: record, source: source, blocksPerLayer: n))
            return .record(record)

        case let .append(name, descriptor, namespace, blocks):
            return try append(
                name, descriptor: descriptor, namespace: namespace, blocks: blocks, txn: txn, events: &events, dropped: &dropped)

        case let .checkpoint(name, bytes):
            var session = try loadSession(name, txn: txn)
            let key = StorageKeys.checkpoint(session: session.id)
            let previous = try txn.get(core.lmdb.checkpoints, key)?.count ?? 0
            try txn.put(core.lmdb.checkpoints, key, bytes)
            let namespace = core.configuration.blockSharing.namespace(of: session.record.owner)
            counters.totals.checkpointBytes += bytes.count - previous
            counters.usage[namespace, default: 0] += bytes.count - previous
            if bytes.count > previous {
                try makeRoom(in: namespace, protecting: name, txn: txn, events: &events, dropped: &dropped)
            }
            session.record.hasCheckpoint = true
            session.record.lastUsed = max(session.record.lastUsed, StoreCore.now())
            session.useSequence = nextUse()
            try txn.put(core.lmdb.sessions, StorageKeys.session(name), session.encoded())
            if core.configuration.tracksUploads { try markForPublication(name, txn: txn) }
            events.append(.updated(record: session.record))
            return .done

        case let .markForPublication(name):
            _ = try loadSession(name, txn: txn)
            try markForPublication(name, txn: txn)
            return .done

        case let .published(name, mark):
            if let value = try txn.get(core.lmdb.publications, StorageKeys.session(name)), value.count == 8,
               ByteCoding.uint64(value, at: 0) == mark {
                _ = try txn.delete(core.lmdb.publications, StorageKeys.session(name))
            }
            return .done

        case let .rename(pairs):
            for (from, to) in pairs {
                var session = try loadSession(from, txn: txn)
                try Self.checkName(to)
                guard try txn.get(core.lmdb.sessions, StorageKeys.session(to)) == nil else { throw .sessionExists }
                try txn.delete(core.lmdb.sessions, StorageKeys.session(from))
                if let mark = try txn.get(core.lmdb.publications, StorageKeys.session(from)).map(Array.init) {
                    _ = try txn.delete(core.lmdb.publications, StorageKeys.session(from))
                    try txn.put(core.lmdb.publications, StorageKeys.session(to), mark)
                }
                session.record.name = to
                try txn.put(core.lmdb.sessions, StorageKeys.session(to), session.encoded())
                events.append(.renamed(from: from, record: session.record))
            }
            return .done

        case let .materialize(snapshot, namespace):
            return try materialize(snapshot, namespace: namespace, txn: txn, events: &events, dropped: &dropped)

        case let .pulled(name, payloads):
            var charged = Set<UInt32>()
            for (id, stored) in payloads {
                guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { continue }
                var meta = try BlockMeta.decode(v)
                guard meta.remote else { continue }
                let header = try stored.withUnsafeBytes { b in Result { () throws(StoreError) in try PayloadCodec.header(b) } }.get()
                guard header.rawLength == meta.rawLength, header.checksum == meta.checksum else { throw .corrupt }
                meta.remote = false
                meta.codec = stored[0]
                meta.storedLength = stored.count
                try txn.put(core.lmdb.blocks, StorageKeys.block(id), meta.encoded())
                try txn.put(core.lmdb.payloads, StorageKeys.block(id), stored)
                counters.totals.remoteBlocks -= 1
                chargeHeld(meta)
                charged.insert(meta.namespace ?? 0)
            }
            for namespace in charged.sorted() {
                try makeRoom(in: namespace, protecting: name, txn: txn, events: &events, dropped: &dropped)
            }
            return .done

        case let .persistUse(marks):
            for (name, mark) in marks {
                guard var session = try? loadSession(name, txn: txn), mark.sequence > session.useSequence else { continue }
                session.record.lastUsed = max(session.record.lastUsed, mark.lastUsed)
                session.useSequence = mark.sequence
                try txn.put(core.lmdb.sessions, StorageKeys.session(name), session.encoded())
            }
            return .done
        }
    }

    private func append(
        _ name: String, descriptor: ModelDescriptor, namespace: UInt32, blocks: [PreparedBlock], txn: Transaction,
        events: inout [StoreEvent], dropped: inout Set<String>
    ) throws(StoreError) -> WriteOutcome {
        var session = try loadSession(name, txn: txn)
        // The session may have been dropped and created again (by another owner) since the
        // append was prepared: its ids were derived for the old descriptor and namespace.
        guard session.record.descriptor == descriptor,
              core.configuration.blockSharing.namespace(of: session.record.owner) == namespace
        else { throw .descriptorMismatch }
        var counts = session.record.blocksPerLayer
        var ids: [BlockID] = []
        ids.reserveCapacity(blocks.count)
        var appended: [(layer: Int, id: BlockID, key: [Float])] = []
        let usageBefore = counters.usage[namespace] ?? 0
        for block in blocks {
            let count = counts[block.layer]
            if block.position == count {
                let (id, meta) = try resolveID(of: block, namespace: namespace, txn: txn)
                try txn.put(
                    core.lmdb.layers, StorageKeys.layerEntry(session: session.id, layer: block.layer, position: count),
                    id.bytes)
                if var meta {
                    meta.refcount += 1
                    if meta.remote {
                        // The tier's block, computed here too: keep these bytes (checked equal by id,
                        // checksum, length and key) instead of fetching them later.
                        meta.remote = false
                        meta.codec = block.stored[0]
                        meta.storedLength = block.stored.count
                        try txn.put(core.lmdb.payloads, StorageKeys.block(id), block.stored)
                        counters.totals.remoteBlocks -= 1
                        chargeHeld(meta)
                    }
                    try txn.put(core.lmdb.blocks, StorageKeys.block(id), meta.encoded())
                    session.record.storedBytes += meta.storedLength
                } else {
                    let meta = BlockMeta(
                        codec: block.stored[0], refcount: 1, layer: UInt32(block.layer), rawLength: block.rawLength,
                        storedLength: block.stored.count, checksum: block.checksum, key: block.key, prefixHash: block.prefixHash,
                        namespace: namespace)
                    try txn.put(core.lmdb.blocks, StorageKeys.block(id), meta.encoded())
                    try txn.put(core.lmdb.payloads, StorageKeys.block(id), block.stored)
                    if core.configuration.tracksUploads {
                        try txn.put(core.lmdb.uploads, StorageKeys.block(id), [])
                        counters.totals.pendingUploads += 1
                        counters.totals.pendingUploadBytes += block.stored.count
                    }
                    chargeHeld(meta)
                    session.record.storedBytes += block.stored.count
                }
                counts[block.layer] = count + 1
                appended.append((block.layer, id, block.key))
                ids.append(id)
            } else if block.position < count, block.position >= 0,
                      let v = try txn.get(core.lmdb.layers, StorageKeys.layerEntry(session: session.id, layer: block.layer, position: block.position)),
                      v.count == 16, Self.candidates(for: block.id).contains(BlockID(bytes: v)),
                      try sameContent(BlockID(bytes: v), block, namespace: namespace, txn: txn) != nil {
                // Idempotent retry of an already stored block (same bytes at that position): nothing to write.
                ids.append(BlockID(bytes: v))
            } else {
                throw .badPosition(expected: count, got: block.position)
            }
        }

        if (counters.usage[namespace] ?? 0) > usageBefore {
            try makeRoom(in: namespace, protecting: name, txn: txn, events: &events, dropped: &dropped)
        }

        session.record.blocksPerLayer = counts
        session.record.lastUsed = max(session.record.lastUsed, StoreCore.now())
        session.useSequence = nextUse()
        try txn.put(core.lmdb.sessions, StorageKeys.session(name), session.encoded())
        events.append(.appended(record: session.record, blocks: appended))
        return .ids(ids)
    }

    /// Alternatives tried for a block whose derived id holds other bytes, at most.
    static let maximumAlternatives: UInt32 = 16

    /// The derived id of a block, then its alternatives (``BlockID/alternative(_:)``).
    static func candidates(for id: BlockID) -> [BlockID] {
        [id] + (1...maximumAlternatives).map { id.alternative($0) }
    }

    /// The id a new block is stored under and the metadata of the identical block already
    /// stored there (nil: the id is free). A derived id that holds a block with other bytes, of
    /// another namespace or an older record is never reused: the next alternative is tried.
    /// Throws `.idConflict` when every candidate holds other bytes.
    private func resolveID(
        of block: PreparedBlock, namespace: UInt32, txn: Transaction
    ) throws(StoreError) -> (BlockID, BlockMeta?) {
        for id in Self.candidates(for: block.id) {
            guard try txn.get(core.lmdb.blocks, StorageKeys.block(id)) != nil else { return (id, nil) }
            if let meta = try sameContent(id, block, namespace: namespace, txn: txn) { return (id, meta) }
        }
        throw .idConflict
    }

    /// The metadata of stored block `id` when it holds exactly `block`'s bytes (same namespace,
    /// raw length, checksum, bit-identical key and payload); nil when it holds anything else.
    private func sameContent(
        _ id: BlockID, _ block: PreparedBlock, namespace: UInt32, txn: Transaction
    ) throws(StoreError) -> BlockMeta? {
        guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { return nil }
        let meta = try BlockMeta.decode(v)
        guard meta.describes(namespace: namespace, rawLength: block.rawLength, checksum: block.checksum, key: block.key) else { return nil }
        // A remote block's bytes are not here: its writer's checksum of them stands in.
        if meta.remote { return meta }
        guard let stored = try txn.get(core.lmdb.payloads, StorageKeys.block(id)) else { return nil }
        let identical = block.stored.withUnsafeBytes { new in
            new.count == stored.count && (new.count == 0 || memcmp(new.baseAddress!, stored.baseAddress!, new.count) == 0)
        }
        if identical { return meta }
        // Same raw bytes encoded differently (another compression level): compare decoded.
        let old = try PayloadCodec.decode(stored)
        let new = try PayloadCodec.decode(block.stored)
        return old == new ? meta : nil
    }

    /// After a write that charged `namespace` more bytes: while the namespace is over
    /// `ownerQuota` or the store over `capacity`, drops the namespace's own least-recently-used
    /// unpinned sessions (never `protected`, never another namespace's); `.quotaExceeded` or
    /// `.capacityExceeded` if that is not enough (the nested transaction is then aborted, so
    /// nothing was dropped).
    private func makeRoom(
        in namespace: UInt32, protecting protected: String, txn: Transaction,
        events: inout [StoreEvent], dropped: inout Set<String>
    ) throws(StoreError) {
        let quota = core.configuration.ownerQuota, capacity = core.configuration.capacity
        func overQuota() -> Bool { quota.map { (counters.usage[namespace] ?? 0) > $0 } ?? false }
        func overCapacity() -> Bool { capacity.map { counters.totals.storedBytes + counters.totals.checkpointBytes > $0 } ?? false }
        guard overQuota() || overCapacity() else { return }
        let sharing = core.configuration.blockSharing
        let candidates: [String] = core.state.withLock { s in
            s.sessions.values
                .filter { $0.pins == 0 && $0.record.name != protected && sharing.namespace(of: $0.record.owner) == namespace }
                .sorted { ($0.useTick, $0.record.name) < ($1.useTick, $1.record.name) }
                .map(\.record.name)
        }
        for name in candidates where overQuota() || overCapacity() {
            guard !dropped.contains(name), try txn.get(core.lmdb.sessions, StorageKeys.session(name)) != nil else { continue }
            // Re-check the pin just before deciding (a connection may have pinned it meanwhile).
            let pinned = core.state.withLock { $0.sessions[name]?.pins ?? 0 } > 0
            if pinned { continue }
            try dropSession(name, txn: txn)
            dropped.insert(name)
            events.append(.dropped(name: name, evicted: true))
        }
        if overQuota() { throw .quotaExceeded }
        if overCapacity() { throw .capacityExceeded }
    }

    // MARK: - Helpers

    /// The next position in the use order (shared with `touch`).
    private func nextUse() -> UInt64 {
        core.state.withLock { $0.nextTick() }
    }

    private func loadSession(_ name: String, txn: Transaction) throws(StoreError) -> SessionValue {
        // A name no session can have (e.g. over LMDB's 511-byte key limit) is simply not found.
        guard KVStore.isValid(name: name),
              let v = try txn.get(core.lmdb.sessions, StorageKeys.session(name)) else { throw .sessionNotFound }
        return try SessionValue.decode(v)
    }

    private static func checkName(_ name: String) throws(StoreError) {
        guard KVStore.isValid(name: name) else { throw .invalidName }
    }

    private func allocateSessionID(_ txn: Transaction) throws(StoreError) -> UInt64 {
        let id = counters.nextSessionID
        counters.nextSessionID += 1
        var w = ByteWriter()
        w.u64(counters.nextSessionID)
        try txn.put(core.lmdb.meta, StorageKeys.nextSessionID, w.bytes)
        return id
    }

    /// Counts a block whose payload is now held: the totals, and its namespace's usage.
    private func chargeHeld(_ meta: BlockMeta) {
        counters.totals.blocks += 1
        counters.totals.rawBytes += meta.rawLength
        counters.totals.storedBytes += meta.storedLength
        counters.usage[meta.namespace ?? 0, default: 0] += meta.storedLength
    }

    /// Creates session `snapshot.record.name` from the shared tier's copy (``WriteOperation/materialize(_:namespace:)``):
    /// a block already stored under its id with the same namespace, lengths, checksum and key is
    /// referenced; one stored with anything else fails the whole operation (`.idConflict`:
    /// the tier's block never stands in for another); the rest are recorded as remote. The
    /// checkpoint is stored and charged like `putCheckpoint`'s.
    private func materialize(
        _ snapshot: SessionSnapshot, namespace: UInt32, txn: Transaction, events: inout [StoreEvent], dropped: inout Set<String>
    ) throws(StoreError) -> WriteOutcome {
        let name = snapshot.record.name, descriptor = snapshot.record.descriptor
        try Self.checkName(name)
        guard try txn.get(core.lmdb.sessions, StorageKeys.session(name)) == nil else { throw .sessionExists }
        guard snapshot.layers.count == descriptor.layers else { throw .badLayer }
        let id = try allocateSessionID(txn)
        var stored = 0
        var blocks: [(layer: Int, id: BlockID, key: [Float])] = []
        for (layer, list) in snapshot.layers.enumerated() {
            for (position, block) in list.enumerated() {
                guard block.key.count == descriptor.vectorDimension else {
                    throw .wrongKeyDimension(expected: descriptor.vectorDimension, got: block.key.count)
                }
                let info = block.info
                if let v = try txn.get(core.lmdb.blocks, StorageKeys.block(info.id)) {
                    var meta = try BlockMeta.decode(v)
                    guard meta.layer == UInt32(layer),
                          meta.describes(namespace: namespace, rawLength: info.rawBytes, checksum: info.checksum, key: block.key)
                    else { throw .idConflict }
                    meta.refcount += 1
                    try txn.put(core.lmdb.blocks, StorageKeys.block(info.id), meta.encoded())
                    stored += meta.storedLength
                } else {
                    let meta = BlockMeta(
                        codec: info.codec, refcount: 1, layer: UInt32(layer), rawLength: info.rawBytes, storedLength: info.storedBytes,
                        checksum: info.checksum, key: block.key, prefixHash: info.prefixHash, namespace: namespace, remote: true)
                    try txn.put(core.lmdb.blocks, StorageKeys.block(info.id), meta.encoded())
                    counters.totals.remoteBlocks += 1
                    stored += info.storedBytes
                }
                try txn.put(core.lmdb.layers, StorageKeys.layerEntry(session: id, layer: layer, position: position), info.id.bytes)
                blocks.append((layer, info.id, block.key))
            }
        }
        let now = StoreCore.now()
        var record = SessionRecord(
            name: name, id: id, owner: snapshot.record.owner, descriptor: descriptor, blocksPerLayer: snapshot.layers.map(\.count),
            createdAt: snapshot.record.createdAt, lastUsed: now, storedBytes: stored, hasCheckpoint: false)
        events.append(.created(id: id, record: SessionRecord(
            name: name, id: id, owner: record.owner, descriptor: descriptor, blocksPerLayer: Array(repeating: 0, count: descriptor.layers),
            createdAt: record.createdAt, lastUsed: now, storedBytes: 0, hasCheckpoint: false)))
        if let checkpoint = snapshot.checkpoint {
            try txn.put(core.lmdb.checkpoints, StorageKeys.checkpoint(session: id), checkpoint)
            let owners = core.configuration.blockSharing.namespace(of: record.owner)
            counters.totals.checkpointBytes += checkpoint.count
            counters.usage[owners, default: 0] += checkpoint.count
            record.hasCheckpoint = true
            try makeRoom(in: owners, protecting: name, txn: txn, events: &events, dropped: &dropped)
        }
        try txn.put(core.lmdb.sessions, StorageKeys.session(name), SessionValue(id: id, record: record, useSequence: nextUse()).encoded())
        events.append(.appended(record: record, blocks: blocks))
        return .record(record)
    }

    /// Adds a reference to a stored block; returns its stored length.
    private func retain(_ id: BlockID, txn: Transaction) throws(StoreError) -> Int {
        guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
        var meta = try BlockMeta.decode(v)
        meta.refcount += 1
        try txn.put(core.lmdb.blocks, StorageKeys.block(id), meta.encoded())
        return meta.storedLength
    }

    /// Removes a reference; deletes the block and its payload when it was the last.
    private func release(_ id: BlockID, txn: Transaction) throws(StoreError) {
        guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .corrupt }
        var meta = try BlockMeta.decode(v)
        if meta.refcount <= 1, meta.remote {
            try txn.delete(core.lmdb.blocks, StorageKeys.block(id))
            counters.totals.remoteBlocks -= 1
        } else if meta.refcount <= 1 {
            try txn.delete(core.lmdb.blocks, StorageKeys.block(id))
            try txn.delete(core.lmdb.payloads, StorageKeys.block(id))
            if try txn.delete(core.lmdb.uploads, StorageKeys.block(id)) {
                // Gone before it was uploaded: it leaves the queue with it.
                counters.totals.pendingUploads -= 1
                counters.totals.pendingUploadBytes -= meta.storedLength
            }
            counters.totals.blocks -= 1
            counters.totals.rawBytes -= meta.rawLength
            counters.totals.storedBytes -= meta.storedLength
            counters.usage[meta.namespace ?? 0, default: 0] -= meta.storedLength
        } else {
            meta.refcount -= 1
            try txn.put(core.lmdb.blocks, StorageKeys.block(id), meta.encoded())
        }
    }

    /// Deletes a session, its block references (releasing the blocks) and its checkpoint.
    private func dropSession(_ name: String, txn: Transaction) throws(StoreError) {
        let session = try loadSession(name, txn: txn)
        var entries: [([UInt8], BlockID)] = []
        try txn.scan(core.lmdb.layers, prefix: StorageKeys.layerPrefix(session: session.id)) { (k, v) throws(StoreError) in
            guard v.count == 16 else { throw .corrupt }
            entries.append((Array(k), BlockID(bytes: v)))
            return true
        }
        for (key, block) in entries {
            try txn.delete(core.lmdb.layers, key)
            try release(block, txn: txn)
        }
        if let checkpoint = try txn.get(core.lmdb.checkpoints, StorageKeys.checkpoint(session: session.id))?.count {
            counters.totals.checkpointBytes -= checkpoint
            counters.usage[core.configuration.blockSharing.namespace(of: session.record.owner), default: 0] -= checkpoint
            try txn.delete(core.lmdb.checkpoints, StorageKeys.checkpoint(session: session.id))
        }
        try txn.delete(core.lmdb.sessions, StorageKeys.session(name))
        _ = try txn.delete(core.lmdb.publications, StorageKeys.session(name))
    }

    /// Records (replacing) session `name`'s publication mark: a fresh value of the use tick.
    private func markForPublication(_ name: String, txn: Transaction) throws(StoreError) {
        var w = ByteWriter()
        w.u64(nextUse())
        try txn.put(core.lmdb.publications, StorageKeys.session(name), w.bytes)
    }
}


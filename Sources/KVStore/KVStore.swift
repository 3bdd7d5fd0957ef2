import CoreTypes
import Foundation

/// The storage layer of `kvd`: one LMDB environment holding sessions, immutable
/// content-addressed blocks (representative key + compressed K/V payload) and checkpoints.
///
/// - Writes go through one writer thread with group commits: concurrent write calls are
///   batched into one LMDB write transaction; a call returns once the transaction holding it
///   committed (and, in `.sync` mode, was fsynced). Each call is atomic: on a thrown error
///   nothing of it was written.
/// - Reads (`payloads`, `checkpoint`, `withRepresentativeKeys`, `session`, `stats`) never wait
///   for the writer: LMDB readers see the last committed snapshot, and representative keys are
///   read from append-only in-memory tables.
/// - Layout, codec, block identity, durability and eviction rules: docs/STORAGE.md.
public final class KVStore: Sendable {
    let core: StoreCore
    let writer: StoreWriter

    /// Opens (creating if needed) the store in `configuration.directory` and rebuilds the
    /// in-memory representative-key tables from LMDB.
    /// Throws `.locked` if another open store holds the directory, `.unsupportedFormat`,
    /// `.corrupt` (inconsistent layer lists), `.io`, or an LMDB error.
    public init(configuration: StoreConfiguration) throws(StoreError) {
        let lock = try DirectoryLock(directory: configuration.directory)
        let lmdb: LMDBEnvironment
        let state: StoreState
        let counters: StoreWriter.Counters
        do throws(StoreError) {
            lmdb = try LMDBEnvironment(
                directory: configuration.directory, mapSize: configuration.mapSize,
                maxReaders: configuration.maxReaders, noSync: configuration.durability != .sync)
            do throws(StoreError) {
                try StoreLoader.upgrade(lmdb, sharing: configuration.blockSharing)
                (state, counters) = try StoreLoader.load(lmdb, sharing: configuration.blockSharing)
            } catch {
                lmdb.close()
                throw error
            }
        } catch {
            lock.release()
            throw error
        }
        core = StoreCore(configuration: configuration, lmdb: lmdb, state: state, lock: lock)
        writer = StoreWriter(core: core, counters: counters)
        writer.start()
    }

    deinit {
        // Forgotten `close()`: shut down synchronously (no reader can be active, since every
        // reader holds `self`).
        let first = core.state.withLock { s -> Bool in
            if s.closing { return false }
            s.closing = true
            return true
        }
        if first {
            submitUseMarks()
            core.queue.close {}
            writer.waitUntilFinished()
            core.lmdb.close()
            core.directoryLock.release()
            core.state.withLock { $0.closed = true }
        } else {
            writer.waitUntilFinished()
        }
    }

    /// The configuration the store was opened with.
    public var configuration: StoreConfiguration { core.configuration }

    /// Finishes every write submitted before it, persists use marks, flushes to disk (in every
    /// durability mode), waits for running reads and closes LMDB. Later calls throw `.closed`.
    /// Calling it again waits for the first call to finish.
    public func close() async {
        let first = core.state.withLock { s -> Bool in
            if s.closing { return false }
            s.closing = true
            return true
        }
        if first {
            submitUseMarks()
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                core.queue.close { c.resume() }
            }
            while core.state.withLock({ $0.activeReaders }) > 0 {
                try? await Task.sleep(for: .milliseconds(1))
            }
            core.lmdb.close()
            core.directoryLock.release()
            core.state.withLock { $0.closed = true }
        } else {
            while !core.state.withLock({ $0.closed }) {
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    private func submitUseMarks() {
        let marks: [String: UseMark] = core.state.withLock { s in
            var marks: [String: UseMark] = [:]
            for (name, session) in s.sessions where session.lastUsedDirty {
                marks[name] = UseMark(lastUsed: session.record.lastUsed, sequence: session.useTick)
            }
            return marks
        }
        if !marks.isEmpty {
            _ = core.queue.submit(WriteRequest(operation: .persistUse(marks), complete: { _ in }))
        }
    }

    // MARK: - Sessions

    /// Creates an empty session. Throws `.invalidName`, `.invalidDescriptor`, `.sessionExists`.
    public func createSession(name: String, owner: UInt32, descriptor: ModelDescriptor) async throws(StoreError) -> SessionRecord {
        try Self.validate(name: name)
        guard descriptor.isValid else { throw .invalidDescriptor }
        guard case let .record(r) = try await core.write(.create(name: name, owner: owner, descriptor: descriptor)) else {
            throw .corrupt
        }
        return r
    }

    /// The record of session `name`, or nil.
    public func session(named name: String) -> SessionRecord? {
        core.state.withLock { $0.sessions[name]?.record }
    }

    /// All sessions, sorted by name.
    public func sessions() -> [SessionRecord] {
        core.state.withLock { s in s.sessions.values.map(\.record) }.sorted { $0.name < $1.name }
    }

    /// Deletes a session, its checkpoint and its block references; blocks no other session
    /// references are deleted. Dropping a pinned session is allowed (an explicit request).
    public func dropSession(named name: String) async throws(StoreError) {
        _ = try await core.write(.drop(name: name))
    }

    /// Creates session `name` holding the first `blocksPerLayer` blocks of every layer of
    /// `source` (references only: no payload is copied; stored bytes do not grow). The
    /// checkpoint is not copied. Throws `.sessionNotFound`, `.sessionExists`, `.invalidName`,
    /// `.badPosition` when a layer of the source has fewer blocks.
    public func forkSession(source: String, into name: String, owner: UInt32, blocksPerLayer: Int) async throws(StoreError) -> SessionRecord {
        try Self.validate(name: name)
        guard case let .record(r) = try await core.write(
            .fork(source: source, name: name, owner: owner, blocksPerLayer: blocksPerLayer))
        else { throw .corrupt }
        return r
    }

    // MARK: - Blocks

    /// Appends blocks (any layers, in order) to a session and returns their ids (in order).
    ///
    /// Everything is validated before anything is written: unknown session, layer, payload
    /// size, key dimension and position errors throw and write nothing; the call is atomic.
    /// On return the blocks are committed and durable per the configured ``Durability``.
    /// Re-sending a block already stored at its position (same id) is an idempotent no-op.
    /// The same as ``prepareAppend(session:blocks:)``, ``submit(_:)``, then waiting.
    public func append(session name: String, blocks: [NewBlock]) async throws(StoreError) -> [BlockID] {
        let prepared = try await prepareAppend(session: name, blocks: blocks)
        return try await submit(prepared).appendedIDs()
    }

    /// The first half of ``append(session:blocks:)``: validates the blocks against the session
    /// and encodes their payloads (byte shuffle + zstd, pure CPU work on the calling task; a
    /// call of at least ``parallelEncodingMinimumBlocks`` blocks is split over the cores).
    /// Nothing is queued or written. Throws `.sessionNotFound`, `.closed`, `.badLayer`,
    /// `.wrongSize`, `.wrongKeyDimension`, `.badPosition` (negative or above `UInt32.max`).
    /// Positions against the layer's count are checked by the writer, at commit.
    public func prepareAppend(session name: String, blocks: [NewBlock]) async throws(StoreError) -> PreparedAppend {
        guard let (descriptor, owner) = core.state.withLock({ s in s.sessions[name].map { ($0.record.descriptor, $0.record.owner) } }) else {
            throw core.state.withLock({ $0.closing }) ? .closed : .sessionNotFound
        }
        let namespace = core.configuration.blockSharing.namespace(of: owner)
        let payloadBytes = descriptor.payloadBytes, dimension = descriptor.vectorDimension
        for b in blocks {
            guard b.layer >= 0, b.layer < descriptor.layers else { throw .badLayer }
            guard b.payload.count == payloadBytes else { throw .wrongSize(expected: payloadBytes, got: b.payload.count) }
            guard b.representativeKey.count == dimension else {
                throw .wrongKeyDimension(expected: dimension, got: b.representativeKey.count)
            }
            guard b.position >= 0, b.position <= UInt32.max else { throw .badPosition(expected: 0, got: b.position) }
        }
        let level = core.configuration.compressionLevel
        let prepare: @Sendable (NewBlock) -> PreparedBlock = { b in
            let stored = PayloadCodec.encode(b.payload, level: level)
            return PreparedBlock(
                layer: b.layer, position: b.position,
                id: BlockID.derive(namespace: namespace, descriptor: descriptor, layer: b.layer, prefixHash: b.prefixHash),
                prefixHash: b.prefixHash,
                key: b.representativeKey, stored: stored, rawLength: b.payload.count,
                checksum: stored.withUnsafeBytes { ByteCoding.uint32($0, at: 8) })
        }
        let parts = min(ProcessInfo.processInfo.activeProcessorCount, blocks.count / (Self.parallelEncodingMinimumBlocks / 2))
        guard parts > 1 else {
            return PreparedAppend(session: name, descriptor: descriptor, namespace: namespace, blocks: blocks.map(prepare))
        }
        // Contiguous slices, one task each; concatenated in order.
        let chunk = (blocks.count + parts - 1) / parts
        let prepared = await withTaskGroup(of: (Int, [PreparedBlock]).self) { group in
            for part in 0..<parts {
                let slice = blocks[(part * chunk)..<min(blocks.count, (part + 1) * chunk)]
                group.addTask { (part, slice.map(prepare)) }
            }
            var results = [[PreparedBlock]](repeating: [], count: parts)
            for await (part, encoded) in group { results[part] = encoded }
            return results.flatMap { $0 }
        }
        return PreparedAppend(session: name, descriptor: descriptor, namespace: namespace, blocks: prepared)
    }

    /// Appends of at least this many blocks are encoded on several cores (two tasks from this
    /// many blocks on, at most one per core and one per half of this many blocks).
    public static let parallelEncodingMinimumBlocks = 8

    /// The second half of ``append(session:blocks:)``: queues the prepared append for the writer
    /// **before returning** and returns the handle of its commit. Appends submitted one after
    /// another are applied in that order (the writer's queue is FIFO; several may share one
    /// group commit), so a caller may submit the next append of a layer before the previous one
    /// committed. ``PendingWrite/appendedIDs()`` returns the ids once the transaction holding
    /// the append committed (durable per the configured ``Durability``), or throws what it
    /// failed with (`.badPosition`, `.sessionNotFound`, `.descriptorMismatch`, `.mapFull`, …;
    /// nothing of it written then). An empty append completes with no ids.
    public func submit(_ append: PreparedAppend) -> PendingWrite {
        if append.blocks.isEmpty {
            let done = PendingWrite()
            done.complete(.success(.ids([])))
            return done
        }
        return core.submit(.append(
            session: append.session, descriptor: append.descriptor, namespace: append.namespace, blocks: append.blocks))
    }

    /// Calls `body` with the representative keys of (`session`, `layer`): N×D contiguous
    /// Float32, row i belonging to `ids[i]` (the block at position i). Does not wait for the
    /// writer; blocks appended during `body` are not included. The buffer is valid only inside
    /// `body`. Throws `StoreError.sessionNotFound`, `.badLayer`, `.closed`, or what `body` throws.
    public func withRepresentativeKeys<R>(session name: String, layer: Int, _ body: (RepresentativeKeys) throws -> R) throws -> R {
        try core.enterReader()
        defer { core.leaveReader() }
        let snapshot: Result<(ids: [BlockID], table: KeyTable), StoreError> = core.state.withLock { s in
            guard let session = s.sessions[name] else { return .failure(.sessionNotFound) }
            guard layer >= 0, layer < session.layers.count else { return .failure(.badLayer) }
            let l = session.layers[layer]
            return .success((l.ids, l.table))
        }
        let (ids, table) = try snapshot.get()
        return try withExtendedLifetime(table) {
            try body(RepresentativeKeys(count: ids.count, dimension: table.dimension, ids: ids, keys: table.rows(ids.count)))
        }
    }

    /// The raw payloads of `ids` (in order), decoded and checked against their CRC-32C.
    /// Throws `.blockNotFound` for an unknown id or a remote block (its payload is not held:
    /// ``readPayloads(_:)`` tells those apart), `.corrupt` for a payload that fails to decode or
    /// match. Does not wait for the writer.
    public func payloads(_ ids: [BlockID]) throws(StoreError) -> [[UInt8]] {
        try readPayloads(ids).map { (read) throws(StoreError) in
            guard case .held(let bytes) = read else { throw .blockNotFound }
            return bytes
        }
    }

    /// The raw payloads of `ids` (in order) where this store holds them, decoded and checked
    /// against their CRC-32C; for a block of a session materialised from the shared tier whose
    /// payload is not held yet, its metadata instead (what a fetched copy is checked against).
    /// Throws `.blockNotFound` for an unknown id, `.corrupt` for a payload that fails to decode
    /// or match. Does not wait for the writer.
    public func readPayloads(_ ids: [BlockID]) throws(StoreError) -> [PayloadRead] {
        try core.withRead { (txn) throws(StoreError) in
            var out: [PayloadRead] = []
            out.reserveCapacity(ids.count)
            for id in ids {
                if let stored = try txn.get(core.lmdb.payloads, StorageKeys.block(id)) {
                    out.append(.held(try PayloadCodec.decode(stored)))
                    continue
                }
                guard let v = try txn.get(core.lmdb.blocks, StorageKeys.block(id)) else { throw .blockNotFound }
                let (meta, _) = try BlockMeta.decodeHeader(v)
                guard meta.remote else { throw .corrupt }
                out.append(.remote(meta.info(id: id)))
            }
            return out
        }
    }

    // MARK: - The shared tier's sessions (docs/TIER.md "Reading through")

    /// Creates a session from the shared tier's copy of it: the record's name, owner and
    /// descriptor, its blocks in position order with their keys and the checksums and lengths
    /// their writer published, and its checkpoint. Blocks stored here already (same id,
    /// namespace, layer, raw length, checksum and key) are referenced; the others are recorded
    /// without a payload (``StoreStats/remoteBlocks``; ``readPayloads(_:)`` returns them as
    /// `.remote`) until ``storePulled(_:forSession:)`` stores it. `namespace`: the owner
    /// namespace the blocks were written in (part of their ids). Throws `.sessionExists`,
    /// `.idConflict` (an id stored here holds another block: nothing is created),
    /// `.wrongKeyDimension`, `.badLayer`, `.invalidName`, and the capacity errors of the checkpoint.
    public func materialize(_ snapshot: SessionSnapshot, namespace: UInt32) async throws(StoreError) -> SessionRecord {
        guard case .record(let record) = try await core.write(.materialize(snapshot, namespace: namespace)) else { throw .corrupt }
        return record
    }

    /// Stores payloads fetched from the shared tier for remote blocks (``readPayloads(_:)``),
    /// each the stored form (codec header ‖ body) whose header must name the block's raw length
    /// and checksum (`.corrupt` otherwise; the caller has decoded and checked it). Blocks no
    /// longer remote or gone are skipped. The payloads are charged to the blocks' namespaces and
    /// the capacity like an append to `session` (which is never evicted for them): when they do
    /// not fit, `.capacityExceeded` or `.quotaExceeded` and nothing is stored.
    public func storePulled(_ payloads: [(id: BlockID, stored: [UInt8])], forSession session: String) async throws(StoreError) {
        _ = try await core.write(.pulled(session: session, payloads: payloads))
    }

    // MARK: - Upload queue (a shared tier's write-behind)

    /// Blocks in the upload queue (``StoreConfiguration/tracksUploads``), in block-id order
    /// after `after` (exclusive; nil: from the first): at most `limit`, and no more once their
    /// stored bytes reach `maxBytes` (at least one when any is queued). Each comes with its
    /// stored payload exactly as kept (codec header with raw length and CRC-32C, then the body).
    /// A block stays queued until ``markUploaded(_:)``; one dropped meanwhile leaves the queue.
    public func pendingUploads(after: BlockID? = nil, limit: Int, maxBytes: Int) throws(StoreError) -> [PendingUpload] {
        try core.withRead { (txn) throws(StoreError) in
            var out: [PendingUpload] = []
            var bytes = 0
            let start = after.map(StorageKeys.block)
            var failure: StoreError? = nil
            try txn.scan(core.lmdb.uploads, prefix: [], from: start) { (k, _) throws(StoreError) in
                guard k.count == 16 else { throw .corrupt }
                let id = BlockID(bytes: k)
                if let after, id == after { return true }
                guard out.count < limit, out.isEmpty || bytes < maxBytes else { return false }
                guard let stored = try txn.get(core.lmdb.payloads, StorageKeys.block(id)) else {
                    failure = .corrupt
                    return false
                }
                out.append(PendingUpload(id: id, stored: Array(stored)))
                bytes += stored.count
                return true
            }
            if let failure { throw failure }
            return out
        }
    }

    /// Which of `ids` are in the upload queue.
    public func queuedForUpload(_ ids: [BlockID]) throws(StoreError) -> Set<BlockID> {
        try core.withRead { (txn) throws(StoreError) in
            var queued = Set<BlockID>()
            for id in ids where try txn.get(core.lmdb.uploads, StorageKeys.block(id)) != nil { queued.insert(id) }
            return queued
        }
    }

    /// Marks session `name` for publication to the shared tier (`putCheckpoint` does so itself
    /// with ``StoreConfiguration/tracksUploads``). Durable per mode on return; the mark survives
    /// restarts until ``markPublished(session:mark:)``, and goes with the session when it is
    /// dropped. Throws `.sessionNotFound`.
    public func markForPublication(session name: String) async throws(StoreError) {
        _ = try await core.write(.markForPublication(name))
    }

    /// Sessions marked for publication with their marks, by name.
    public func sessionsToPublish() throws(StoreError) -> [(name: String, mark: UInt64)] {
        try core.withRead { (txn) throws(StoreError) in
            var marked: [(name: String, mark: UInt64)] = []
            try txn.scan(core.lmdb.publications, prefix: []) { (k, v) throws(StoreError) in
                guard v.count == 8 else { throw .corrupt }
                marked.append((String(decoding: k, as: UTF8.self), ByteCoding.uint64(v, at: 0)))
                return true
            }
            return marked
        }
    }

    /// Removes session `name`'s publication mark if it is still `mark` (a session marked again
    /// while it was being published stays marked).
    public func markPublished(session name: String, mark: UInt64) async throws(StoreError) {
        _ = try await core.write(.published(session: name, mark: mark))
    }

    /// Removes blocks from the upload queue once the tier holds them (ids no longer queued are
    /// skipped). Durable per mode on return.
    public func markUploaded(_ ids: [BlockID]) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        _ = try await core.write(.uploaded(ids))
    }

    // MARK: - Checkpoints

    /// Stores (replacing) the session's checkpoint: opaque worker state, any length the map
    /// can hold. Durable per mode on return. Counted against the capacity and the owner's quota
    /// (a larger checkpoint may evict the owner's other sessions; `.quotaExceeded`,
    /// `.capacityExceeded` when it cannot fit).
    public func putCheckpoint(session name: String, bytes: [UInt8]) async throws(StoreError) {
        _ = try await core.write(.checkpoint(session: name, bytes: bytes))
    }

    /// The session's checkpoint, or nil if none was stored. Throws `.sessionNotFound`.
    public func checkpoint(session name: String) throws(StoreError) -> [UInt8]? {
        try core.withRead { (txn) throws(StoreError) in
            guard Self.isValid(name: name),
                  let v = try txn.get(core.lmdb.sessions, StorageKeys.session(name)) else { throw .sessionNotFound }
            let session = try SessionValue.decode(v)
            return try txn.get(core.lmdb.checkpoints, StorageKeys.checkpoint(session: session.id)).map { Array($0) }
        }
    }

    /// The first `count` bytes of the session's checkpoint (fewer when it is shorter), or nil if
    /// none was stored; reads only those bytes, however large the checkpoint. Throws
    /// `.sessionNotFound`.
    public func checkpointPrefix(session name: String, count: Int) throws(StoreError) -> [UInt8]? {
        try core.withRead { (txn) throws(StoreError) in
            guard Self.isValid(name: name),
                  let v = try txn.get(core.lmdb.sessions, StorageKeys.session(name)) else { throw .sessionNotFound }
            let session = try SessionValue.decode(v)
            return try txn.get(core.lmdb.checkpoints, StorageKeys.checkpoint(session: session.id)).map {
                Array(UnsafeRawBufferPointer(rebasing: $0.prefix(max(0, count))))
            }
        }
    }

    // MARK: - Names

    /// Renames sessions (each `from` → `to`) in one transaction: all or nothing. Blocks,
    /// checkpoints, pins and use order stay with the session. Throws `.sessionNotFound`,
    /// `.sessionExists` (a target taken, or named twice), `.invalidName`.
    public func renameSessions(_ pairs: [(from: String, to: String)]) async throws(StoreError) {
        guard !pairs.isEmpty else { return }
        _ = try await core.write(.rename(pairs))
    }

    // MARK: - Use, pins

    /// Adds a pin (counted): a pinned session is never evicted. Unknown names are ignored.
    public func pin(session name: String) {
        core.state.withLock { s in
            guard let pins = s.sessions[name]?.pins else { return }
            s.sessions[name]?.pins = pins + 1
            if pins == 0 { s.pinnedSessions += 1 }
        }
    }

    /// Removes a pin added by ``pin(session:)`` (never below zero).
    public func unpin(session name: String) {
        core.state.withLock { s in
            if let p = s.sessions[name]?.pins, p > 0 {
                s.sessions[name]?.pins = p - 1
                if p == 1 { s.pinnedSessions -= 1 }
            }
        }
    }

    /// Marks the session as used now (least-recently-used eviction order; `lastUsed`, which
    /// is persisted by the next write to the session or by `close()`).
    public func touch(session name: String) {
        let now = StoreCore.now()
        core.state.withLock { s in
            guard s.sessions[name] != nil else { return }
            let tick = s.nextTick()
            s.sessions[name]?.useTick = tick
            s.sessions[name]?.lastUsedDirty = true
            if (s.sessions[name]?.record.lastUsed ?? 0) < now {
                s.sessions[name]?.record.lastUsed = now
            }
        }
    }

    // MARK: - Inspection

    /// Sessions evicted (for capacity or quota) since the store was opened; cheap.
    public var evictionCount: Int { core.state.withLock { $0.evictions } }

    /// Counters of the store. Constant time (kvd answers `stats` on its event loop).
    public func stats() -> StoreStats {
        let mapUsed = (try? core.withRead { (_) throws(StoreError) in core.lmdb.mapBytesUsed }) ?? 0
        return core.state.withLock { s in
            StoreStats(
                sessions: s.sessions.count, blocks: s.totals.blocks, rawBytes: s.totals.rawBytes,
                storedBytes: s.totals.storedBytes, checkpointBytes: s.totals.checkpointBytes,
                mapBytesUsed: mapUsed, mapSize: core.lmdb.mapSize,
                evictions: s.evictions, commits: s.commits, writeRequests: s.writeRequests,
                pinnedSessions: s.pinnedSessions, flushes: s.flushes,
                pendingUploads: s.totals.pendingUploads, pendingUploadBytes: s.totals.pendingUploadBytes,
                remoteBlocks: s.totals.remoteBlocks)
        }
    }

    /// Bytes charged to the owner namespace `namespace` (``BlockSharing/namespace(of:)``): the
    /// stored bytes of the distinct blocks written in it plus its owners' checkpoints — what
    /// `StoreConfiguration.ownerQuota` limits.
    public func usage(ofNamespace namespace: UInt32) -> Int {
        core.state.withLock { $0.usage[namespace] ?? 0 }
    }

    static func validate(name: String) throws(StoreError) {
        guard isValid(name: name) else { throw .invalidName }
    }

    /// Whether `name` can name a session: 1...511 UTF-8 bytes (LMDB's key limit), no NUL.
    static func isValid(name: String) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= 511 && !bytes.contains(0)
    }
}

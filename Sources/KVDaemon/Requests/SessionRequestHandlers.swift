import KVStore
import Logging
import Protocol

extension RequestDispatcher {
    /// The session a request names (``SessionAddress``) if the peer may access it; otherwise
    /// `sessionNotFound` (whether another owner's session exists does not leak). The record's
    /// `name` is the store's name.
    func visibleSession(_ name: String, connection: ConnectionState) throws -> SessionRecord {
        let address = try SessionAddress.resolve(name, peer: connection.peer, policy: policy)
        guard let record = store.session(named: address.storeName),
              policy.mayAccess(sessionOwnedBy: record.owner, peer: connection.peer)
        else {
            throw ProtocolError(.sessionNotFound, "no session \"\(SessionName.printable(name))\"")
        }
        return record
    }

    /// Materialises a session this node does not hold from the shared tier (docs/TIER.md
    /// "Reading through"), when a tier is configured and the peer may see the session: the
    /// request that named it then finds it as if it had been here. A tier that does not answer
    /// within its read timeout, or holds nothing under the name, leaves the node to answer from
    /// its own store (`sessionNotFound`: a worker then computes the document itself); a manifest
    /// of another owner or an unusable one is refused (`permissionDenied`, `storageError`).
    func pullIfMissing(_ requested: String, connection: ConnectionState, logger: Logger) async throws {
        guard let tier else { return }
        let address = try SessionAddress.resolve(requested, peer: connection.peer, policy: policy)
        guard store.session(named: address.storeName) == nil,
              policy.mayAccess(sessionOwnedBy: address.owner, peer: connection.peer) else { return }
        do {
            _ = try await tier.pull(session: address.storeName)
        } catch StoreError.sessionExists {
            return  // another request materialised it meanwhile
        } catch TierError.redis(let error) {
            metrics.add("tier.pullFailures")
            logger.warning("tier: cannot reach the shared tier for a session; answering from the local store",
                           metadata: ["session": "\(address.storeName)", "error": "\(error)"])
        } catch let error as TierError {
            metrics.add("tier.pullFailures")
            if case .foreignOwner = error { throw ProtocolError(.permissionDenied, "\(error)") }
            throw ProtocolError(.storageError, "shared tier: \(error)")
        }
    }

    /// The store's name of a session the peer creates (in its own namespace), after checking
    /// the name against the alphabet of new names.
    func newSessionName(_ name: String, connection: ConnectionState) throws -> String {
        try SessionName.validateNew(name)
        return SessionAddress(owner: connection.peer.uid, name: name).storeName
    }

    /// The name `connection`'s peer knows a stored session by (``SessionAddress/displayName(for:)``).
    func displayName(_ record: SessionRecord, connection: ConnectionState) -> String {
        SessionAddress(storeName: record.name)?.displayName(for: connection.peer) ?? record.name
    }

    /// The wire description of a stored session. Reads only the head of its checkpoint (the
    /// chunk sequence), never the whole of it: this runs on the event loop.
    func info(_ record: SessionRecord, connection: ConnectionState) throws -> SessionInfo {
        var sequence: UInt64? = nil
        if record.hasCheckpoint, let head = try store.checkpointPrefix(session: record.name, count: CheckpointSlot.headBytes) {
            sequence = CheckpointSlot.chunkSequence(head: head)
        }
        return SessionInfo(
            name: displayName(record, connection: connection), ownerUID: record.owner, descriptor: record.descriptor,
            checkpointSequence: sequence, storedBytes: UInt64(record.storedBytes),
            createdAtMillis: record.createdAt * 1000, lastUsedAtMillis: record.lastUsed * 1000,  // the store keeps Unix seconds
            blockCounts: record.blocksPerLayer.map { UInt32(clamping: $0) })
    }

    /// Marks `name` held open by the connection (pinned in the store while any connection
    /// holds it).
    func hold(_ name: String, connection: ConnectionState) async throws {
        guard connection.open(name) else { return }
        if pins.acquire(name) { store.pin(session: name) }
    }

    func unpinInStore(_ name: String) async {
        store.unpin(session: name)
    }

    func createSession(_ request: CreateSession, connection: ConnectionState) async throws -> Message {
        let name = try newSessionName(request.name, connection: connection)
        try request.descriptor.validate(limits: limits)
        let record = try await store.createSession(
            name: name, owner: connection.peer.uid, descriptor: request.descriptor)
        try await hold(record.name, connection: connection)
        metrics.add("sessions.created")
        return .sessionInfo(try info(record, connection: connection))
    }

    /// Opens (holds) a visible session. Synchronous and cheap, so it may run on the event loop.
    func openSession(_ request: SessionRequest, connection: ConnectionState) throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        if connection.open(record.name), pins.acquire(record.name) { store.pin(session: record.name) }
        store.touch(session: record.name)
        return .sessionInfo(try info(record, connection: connection))
    }

    func closeSession(_ request: SessionRequest, connection: ConnectionState) async throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        if connection.close(record.name), pins.release(record.name) {
            await unpinInStore(record.name)
        }
        await tier?.sessionClosed(record.name)
        return .ok
    }

    func listSessions(_ request: ListSessions, connection: ConnectionState) throws -> Message {
        guard request.limit <= limits.maxSessionsPerList else {
            throw ProtocolError(.limitExceeded, "listSessions limit \(request.limit) exceeds \(limits.maxSessionsPerList)")
        }
        let limit = request.limit == 0 ? Int(limits.maxSessionsPerList) : Int(request.limit)
        // Paged by the names the peer sees (its own plain, others' `UID/NAME` for administrators).
        let visible = store.sessions()
            .filter { policy.mayAccess(sessionOwnedBy: $0.owner, peer: connection.peer) }
            .map { (name: Array(displayName($0, connection: connection).utf8), record: $0) }
            .filter { request.after.isEmpty || Array(request.after.utf8).lexicographicallyPrecedes($0.name) }
            .sorted { $0.name.lexicographicallyPrecedes($1.name) }
        let page = visible.prefix(limit)
        return .sessionList(SessionList(
            sessions: try page.map { try info($0.record, connection: connection) }, hasMore: visible.count > page.count))
    }

    func dropSession(_ request: SessionRequest, connection: ConnectionState) async throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        let heldHere = connection.holds(record.name)
        let holders = pins.holderCount(record.name)
        guard holders == 0 || (holders == 1 && heldHere) else {
            throw ProtocolError(.sessionBusy, "session \"\(SessionName.printable(request.name))\" is held open by another connection")
        }
        if heldHere, connection.close(record.name), pins.release(record.name) {
            await unpinInStore(record.name)
        }
        try await store.dropSession(named: record.name)
        retrieval.forget(session: record.id)
        metrics.add("sessions.dropped")
        return .ok
    }

    func forkSession(_ request: ForkSession, connection: ConnectionState) async throws -> Message {
        let target = try newSessionName(request.target, connection: connection)
        let source = try visibleSession(request.source, connection: connection)
        var slot: [UInt8]? = nil
        if request.copyCheckpoint {
            guard request.blockCount == ForkSession.allBlocks else {
                throw ProtocolError(.badArgument, "copyCheckpoint requires forking every block")
            }
            guard let bytes = try store.checkpoint(session: source.name) else {
                throw ProtocolError(.checkpointNotFound, "session \"\(SessionName.printable(request.source))\" has no checkpoint")
            }
            slot = bytes
        }
        // The store forks the same number of blocks from every layer: all = the shortest layer.
        let shortest = source.blocksPerLayer.min() ?? 0
        let perLayer = request.blockCount == ForkSession.allBlocks ? shortest : min(Int(request.blockCount), shortest)
        let record = try await store.forkSession(
            source: source.name, into: target, owner: connection.peer.uid, blocksPerLayer: perLayer)
        if let slot {
            try await store.putCheckpoint(session: record.name, bytes: slot)
            try retrieval.restore(session: record.id, state: retrieval.snapshot(session: source.id))
        }
        try await hold(record.name, connection: connection)
        metrics.add("sessions.forked")
        return .sessionInfo(try info(store.session(named: record.name) ?? record, connection: connection))
    }
}

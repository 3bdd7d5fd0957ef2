import KVStore
import Protocol

extension RequestDispatcher {
    /// The session `name` if the peer may access it; otherwise `sessionNotFound` (the names of
    /// other uids' sessions do not leak).
    func visibleSession(_ name: String, connection: ConnectionState) throws -> SessionRecord {
        guard let record = store.session(named: name),
              policy.mayAccess(sessionOwnedBy: record.owner, peer: connection.peer)
        else {
            throw ProtocolError(.sessionNotFound, "no session \"\(name)\"")
        }
        return record
    }

    /// The wire description of a stored session.
    func info(_ record: SessionRecord) throws -> SessionInfo {
        var sequence: UInt64? = nil
        if record.hasCheckpoint, let bytes = try store.checkpoint(session: record.name), let slot = CheckpointSlot(decoding: bytes) {
            sequence = slot.chunkSequence
        }
        return SessionInfo(
            name: record.name, ownerUID: record.owner, descriptor: record.descriptor.wire,
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
        try SessionName.validate(request.name)
        try request.descriptor.validate(limits: limits)
        let record = try await store.createSession(
            name: request.name, owner: connection.peer.uid, descriptor: StoreDescriptor(wire: request.descriptor))
        try await hold(record.name, connection: connection)
        metrics.add("sessions.created")
        return .sessionInfo(try info(record))
    }

    /// Opens (holds) a visible session. Synchronous and cheap, so it may run on the event loop.
    func openSession(_ request: SessionRequest, connection: ConnectionState) throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        if connection.open(record.name), pins.acquire(record.name) { store.pin(session: record.name) }
        store.touch(session: record.name)
        return .sessionInfo(try info(record))
    }

    func closeSession(_ request: SessionRequest, connection: ConnectionState) async throws -> Message {
        _ = try visibleSession(request.name, connection: connection)
        if connection.close(request.name), pins.release(request.name) {
            await unpinInStore(request.name)
        }
        return .ok
    }

    func listSessions(_ request: ListSessions, connection: ConnectionState) throws -> Message {
        guard request.limit <= limits.maxSessionsPerList else {
            throw ProtocolError(.limitExceeded, "listSessions limit \(request.limit) exceeds \(limits.maxSessionsPerList)")
        }
        let limit = request.limit == 0 ? Int(limits.maxSessionsPerList) : Int(request.limit)
        let visible = store.sessions()
            .filter { policy.mayAccess(sessionOwnedBy: $0.owner, peer: connection.peer) }
            .filter { request.after.isEmpty || Array(request.after.utf8).lexicographicallyPrecedes(Array($0.name.utf8)) }
            .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        let page = visible.prefix(limit)
        return .sessionList(SessionList(sessions: try page.map(info), hasMore: visible.count > page.count))
    }

    func dropSession(_ request: SessionRequest, connection: ConnectionState) async throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        let heldHere = connection.holds(record.name)
        let holders = pins.holderCount(record.name)
        guard holders == 0 || (holders == 1 && heldHere) else {
            throw ProtocolError(.sessionBusy, "session \"\(record.name)\" is held open by another connection")
        }
        if heldHere, connection.close(record.name), pins.release(record.name) {
            await unpinInStore(record.name)
        }
        try await store.dropSession(named: record.name)
        retrieval.forget(session: record.name)
        metrics.add("sessions.dropped")
        return .ok
    }

    func forkSession(_ request: ForkSession, connection: ConnectionState) async throws -> Message {
        try SessionName.validate(request.target)
        let source = try visibleSession(request.source, connection: connection)
        var slot: [UInt8]? = nil
        if request.copyCheckpoint {
            guard request.blockCount == ForkSession.allBlocks else {
                throw ProtocolError(.badArgument, "copyCheckpoint requires forking every block")
            }
            guard let bytes = try store.checkpoint(session: source.name) else {
                throw ProtocolError(.checkpointNotFound, "session \"\(source.name)\" has no checkpoint")
            }
            slot = bytes
        }
        // The store forks the same number of blocks from every layer: all = the shortest layer.
        let shortest = source.blocksPerLayer.min() ?? 0
        let perLayer = request.blockCount == ForkSession.allBlocks ? shortest : min(Int(request.blockCount), shortest)
        let record = try await store.forkSession(
            source: source.name, into: request.target, owner: connection.peer.uid, blocksPerLayer: perLayer)
        if let slot {
            try await store.putCheckpoint(session: record.name, bytes: slot)
            try retrieval.restore(session: record.name, state: retrieval.snapshot(session: source.name))
        }
        try await hold(record.name, connection: connection)
        metrics.add("sessions.forked")
        return .sessionInfo(try info(store.session(named: record.name) ?? record))
    }
}

import KVStore
import Protocol

extension RequestDispatcher {
    func putCheckpoint(_ request: PutCheckpoint, connection: ConnectionState) async throws -> Message {
        let record = try visibleSession(request.session, connection: connection)
        let slot = CheckpointSlot(
            chunkSequence: request.chunkSequence, tokenCount: request.tokenCount, worker: Array(request.workerState),
            retrievalState: retrieval.snapshot(session: record.id))
        try await store.putCheckpoint(session: record.name, bytes: slot.encoded)
        forgetEvictedSessions()
        metrics.add("checkpoints.stored")
        tier?.checkpointStored()
        return .ok
    }

    func getCheckpoint(_ request: GetCheckpoint, connection: ConnectionState) throws -> Message {
        let record = try visibleSession(request.session, connection: connection)
        guard let bytes = try store.checkpoint(session: record.name) else {
            throw ProtocolError(.checkpointNotFound, "session \"\(SessionName.printable(request.session))\" has no checkpoint")
        }
        guard let slot = CheckpointSlot(decoding: bytes) else {
            throw ProtocolError(.storageError, "the checkpoint of \"\(SessionName.printable(request.session))\" is not a daemon checkpoint slot")
        }
        if request.restore {
            try retrieval.restore(session: record.id, state: slot.retrievalState)
        }
        return .checkpoint(Checkpoint(
            chunkSequence: slot.chunkSequence, tokenCount: slot.tokenCount, workerState: slot.worker[...],
            retrievalState: slot.retrievalState[...]))
    }
}

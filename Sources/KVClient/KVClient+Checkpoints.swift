import Protocol

/// Checkpoint and statistics calls (docs/PROTOCOL.md §6.4, §6.5).
extension KVClient {
    /// Stores the worker's opaque state as the session's checkpoint (with the server's
    /// retrieval state), replacing any previous one.
    public func putCheckpoint(
        session: String, chunkSequence: UInt64, tokenCount: UInt64, workerState: ArraySlice<UInt8>
    ) async throws(KVClientError) {
        let request = PutCheckpoint(session: session, chunkSequence: chunkSequence, tokenCount: tokenCount, workerState: workerState)
        let reply = try await send(.putCheckpoint(request))
        guard case .ok = reply else { throw Self.unexpected(reply, for: .putCheckpoint) }
    }

    /// Reads the session's checkpoint; with `restore`, the server also rewinds its retrieval
    /// state to the checkpoint's.
    /// - Throws: `.server` with `checkpointNotFound`, …
    public func getCheckpoint(session: String, restore: Bool = false) async throws(KVClientError) -> Checkpoint {
        let reply = try await send(.getCheckpoint(GetCheckpoint(session: session, restore: restore)))
        guard case .checkpoint(let checkpoint) = reply else { throw Self.unexpected(reply, for: .getCheckpoint) }
        return checkpoint
    }

    /// Server statistics.
    public func stats() async throws(KVClientError) -> Stats {
        let reply = try await send(.statsRequest)
        guard case .stats(let stats) = reply else { throw Self.unexpected(reply, for: .stats) }
        return stats
    }
}

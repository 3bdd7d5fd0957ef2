import CoreTypes
import Protocol

/// Session calls (docs/PROTOCOL.md §6.2).
extension KVClient {
    /// Creates a session named `name` for the model `descriptor`, owned by this process's uid
    /// and held open by this connection.
    /// - Throws: `.server` with `sessionExists`, `badArgument` (invalid descriptor), …
    public func createSession(_ name: String, descriptor: ModelDescriptor) async throws(KVClientError) -> SessionInfo {
        let reply = try await send(.createSession(CreateSession(name: name, descriptor: descriptor)))
        guard case .sessionInfo(let info) = reply else { throw Self.unexpected(reply, for: .createSession) }
        rememberHeld(name)
        return info
    }

    /// Opens an existing session; it is held open (never evicted) until closed or until the
    /// connection ends.
    /// - Throws: `.server` with `sessionNotFound`, …
    public func openSession(_ name: String) async throws(KVClientError) -> SessionInfo {
        let reply = try await send(.openSession(SessionRequest(name: name)))
        guard case .sessionInfo(let info) = reply else { throw Self.unexpected(reply, for: .openSession) }
        rememberHeld(name)
        return info
    }

    /// Releases a session held open by this connection.
    public func closeSession(_ name: String) async throws(KVClientError) {
        let reply = try await send(.closeSession(SessionRequest(name: name)))
        guard case .ok = reply else { throw Self.unexpected(reply, for: .closeSession) }
        forgetHeld(name)
    }

    /// One page of the caller's sessions in bytewise name order, after `after` ("" = from the
    /// start), at most `limit` (0 = the server's maximum).
    public func listSessions(after: String = "", limit: UInt32 = 0) async throws(KVClientError) -> SessionList {
        let reply = try await send(.listSessions(ListSessions(after: after, limit: limit)))
        guard case .sessionList(let list) = reply else { throw Self.unexpected(reply, for: .listSessions) }
        return list
    }

    /// Every session visible to the caller, fetching as many pages as needed.
    public func allSessions() async throws(KVClientError) -> [SessionInfo] {
        var result: [SessionInfo] = []
        var after = ""
        while true {
            let page = try await listSessions(after: after)
            result += page.sessions
            guard page.hasMore, let last = page.sessions.last else { return result }
            after = last.name
        }
    }

    /// Deletes a session (its blocks are freed when no other session shares them).
    /// - Throws: `.server` with `sessionNotFound`, `sessionBusy` (held open elsewhere), …
    public func dropSession(_ name: String) async throws(KVClientError) {
        let reply = try await send(.dropSession(SessionRequest(name: name)))
        guard case .ok = reply else { throw Self.unexpected(reply, for: .dropSession) }
        forgetHeld(name)
    }

    /// Creates `target` sharing the first `blockCount` blocks of every layer of `source`
    /// (``ForkSession/allBlocks`` = all); no block data is copied. The target is held open.
    public func forkSession(
        from source: String, to target: String, blockCount: UInt32 = ForkSession.allBlocks, copyCheckpoint: Bool = false
    ) async throws(KVClientError) -> SessionInfo {
        let request = ForkSession(source: source, target: target, blockCount: blockCount, copyCheckpoint: copyCheckpoint)
        let reply = try await send(.forkSession(request))
        guard case .sessionInfo(let info) = reply else { throw Self.unexpected(reply, for: .forkSession) }
        rememberHeld(target)
        return info
    }
}

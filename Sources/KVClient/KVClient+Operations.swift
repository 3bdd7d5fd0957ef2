import Protocol

extension KVClient {
    /// Sets the daemon's log level (`level`), or makes it re-read its configuration (nil), without
    /// a restart. Administrators only (`permissionDenied` otherwise). Returns the levels before
    /// and after.
    public func reload(logLevel level: WireLogLevel? = nil) async throws(KVClientError) -> ReloadReply {
        let reply = try await send(.reload(ReloadRequest(logLevel: level)))
        guard case .reloaded(let result) = reply else { throw Self.unexpected(reply, for: .reload) }
        return result
    }

    /// Has the daemon write a consistent, compacted copy of its whole store into `directory` (an
    /// absolute path on the daemon's host that does not exist or is empty) while it keeps
    /// serving. Administrators only. Every append acknowledged before this call is in the copy.
    public func backup(to directory: String) async throws(KVClientError) -> BackupReply {
        let reply = try await send(.backup(BackupRequest(path: directory)))
        guard case .backupDone(let result) = reply else { throw Self.unexpected(reply, for: .backup) }
        return result
    }

    /// Details of session `name` (sharing, raw and per-layer stored bytes, open connections)
    /// without opening (pinning) it.
    public func inspectSession(_ name: String) async throws(KVClientError) -> SessionDetail {
        let reply = try await send(.inspectSession(InspectSessionRequest(name: name)))
        guard case .sessionDetail(let detail) = reply else { throw Self.unexpected(reply, for: .inspectSession) }
        return detail
    }
}

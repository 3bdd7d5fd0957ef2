import Foundation
import KVStore
import Logging
import Protocol

extension RequestDispatcher {
    /// `reload`: sets the log level, or re-reads it from the configuration (as SIGHUP does).
    /// Administrators only.
    func reload(_ request: ReloadRequest, connection: ConnectionState, logger: Logger) throws -> Message {
        try requireAdministrator(connection, for: "reload")
        guard let control = ReloadableLogLevel.installed else {
            throw ProtocolError(.badArgument, "this kvd has no reloadable configuration")
        }
        let previous: Logger.Level, current: Logger.Level
        if let wanted = request.logLevel {
            current = wanted.logLevel
            previous = control.set(current)
        } else {
            guard let changed = control.reloadFromConfiguration() else {
                throw ProtocolError(.badArgument, "the configuration could not be re-read (see the kvd log); the log level is unchanged")
            }
            (previous, current) = changed
        }
        metrics.add("reloads")
        logger.notice("log level changed by reload", metadata: ["previous": "\(previous)", "level": "\(current)", "uid": "\(connection.peer.uid)"])
        return .reloaded(ReloadReply(previous: WireLogLevel(previous), current: WireLogLevel(current)))
    }

    /// `backup`: a consistent compacted copy of the store into a new (or empty) directory while
    /// serving. Administrators only. Runs on a dedicated thread (it reads the whole store).
    func backup(_ request: BackupRequest, connection: ConnectionState, logger: Logger) async throws -> Message {
        try requireAdministrator(connection, for: "backup")
        let store = self.store
        let path = request.path
        let started = ContinuousClock.now
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<BackupSummary, StoreError>, Never>) in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(StoreError) in try store.backup(to: path) })
            }
            thread.name = "kvd-backup"
            thread.start()
        }
        let summary: BackupSummary
        switch result {
        case .success(let s): summary = s
        case .failure(.io(let code)) where [ENOTEMPTY, ENOTDIR, ENOENT, EACCES, EEXIST, EROFS].contains(code):
            throw ProtocolError(.badArgument, "backup directory \(path): \(String(cString: strerror(code))) (it must be absent or empty, its parent writable by kvd)")
        case .failure(let error): throw error
        }
        let millis = UInt64((ContinuousClock.now - started).seconds * 1000)
        metrics.add("backups")
        logger.notice("backup written", metadata: [
            "path": "\(path)", "bytes": "\(summary.bytes)", "sessions": "\(summary.sessions)", "blocks": "\(summary.blocks)", "ms": "\(millis)",
        ])
        return .backupDone(BackupReply(
            bytes: UInt64(summary.bytes), elapsedMillis: millis, sessions: UInt64(summary.sessions), blocks: UInt64(summary.blocks)))
    }

    /// `inspectSession`: one visible session in detail, without pinning it.
    func inspectSession(_ request: InspectSessionRequest, connection: ConnectionState) throws -> Message {
        let record = try visibleSession(request.name, connection: connection)
        guard let usage = try store.sessionUsage(named: record.name) else {
            throw ProtocolError(.sessionNotFound, "no session \"\(SessionName.printable(request.name))\"")
        }
        return .sessionDetail(SessionDetail(
            info: try info(usage.record, connection: connection), openConnections: UInt32(clamping: usage.pins),
            sharedBlocks: UInt64(usage.sharedReferences), rawBytes: UInt64(usage.rawBytes),
            layerStoredBytes: usage.layerStoredBytes.map { UInt64($0) }))
    }

    private func requireAdministrator(_ connection: ConnectionState, for what: String) throws {
        guard policy.seesAllSessions(connection.peer) else {
            throw ProtocolError(.permissionDenied, "\(what) is for administrator uids (--admin-uid); uid \(connection.peer.uid) is not one")
        }
    }
}

extension WireLogLevel {
    /// The wire form of a swift-log level.
    public init(_ level: Logger.Level) {
        self = switch level {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }

    /// The swift-log level.
    public var logLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}

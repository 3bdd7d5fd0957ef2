import Foundation
import KVStore
import Protocol

extension RequestDispatcher {
    /// Verifies the whole store for an administrator uid (`--admin-uid`); any other uid gets
    /// `permissionDenied`. The check covers every block and every session of all owners —
    /// reference counts are shared across sessions (forks), so a per-uid subset would not be a
    /// sound check — and it reads the whole store, so it is not for unprivileged callers.
    ///
    /// `KVStore.verify()` runs on a dedicated thread (it reads every payload: seconds per GiB),
    /// never on the NIO event loop nor a cooperative-pool thread; it uses a read snapshot and
    /// does not block writers.
    func verify(_ request: VerifyRequest, connection: ConnectionState) async throws -> Message {
        guard policy.seesAllSessions(connection.peer) else {
            throw ProtocolError(.permissionDenied, "verify is for administrator uids (--admin-uid); uid \(connection.peer.uid) is not one")
        }
        let store = self.store
        let report = await withCheckedContinuation { (continuation: CheckedContinuation<VerifyReport, Never>) in
            let thread = Thread { continuation.resume(returning: store.verify()) }
            thread.name = "kvd-verify"
            thread.start()
        }
        metrics.add("verify.runs")
        metrics.add("verify.failures", UInt64(report.failures.count))
        let listed = report.failures.prefix(request.effectiveMaxFailures).map(VerifyReasonMapping.wire)
        return .verifyReport(VerifyReportReply(
            ok: report.isOK, blocksChecked: UInt64(report.blocksChecked), referencesChecked: UInt64(report.referencesChecked),
            failureTotal: UInt64(report.failures.count), failures: listed))
    }
}

/// Maps the store's verification failures to the wire's entries.
enum VerifyReasonMapping {
    /// The wire form of one store failure: its kind is the reason code (CoreTypes'
    /// `VerifyFailureKind`, one table for both), its text the message.
    static func wire(_ failure: VerifyReport.Failure) -> VerifyFailure {
        VerifyFailure(
            block: failure.block, session: VerifyFailure.truncatedName(failure.session ?? ""),
            reason: failure.kind, message: failure.reason)
    }
}

extension VerifyFailure {
    /// A session name cut to the 255 bytes a `str8` holds (store names never exceed it).
    static func truncatedName(_ name: String) -> String {
        var utf8 = Array(name.utf8)
        guard utf8.count > 255 else { return name }
        var n = 255
        while n > 0 && (utf8[n] & 0xC0) == 0x80 { n -= 1 }
        utf8.removeSubrange(n...)
        return String(decoding: utf8, as: UTF8.self)
    }
}

import Protocol

/// Store verification (docs/PROTOCOL.md §6.7).
extension KVClient {
    /// Asks the daemon to verify its whole store: every block's payload decodes and matches
    /// its checksum and metadata, every reference resolves. Administrators only. The call
    /// lasts as long as a full read of the store (seconds per GiB).
    /// - Parameter maxFailures: failures to list, 1…1024 (0 = 1024); `failureTotal` counts all.
    /// - Throws: `.server` with `permissionDenied` for a non-administrator uid, `shuttingDown`, …
    public func verify(maxFailures: UInt32 = 0) async throws(KVClientError) -> VerifyReportReply {
        let reply = try await send(.verify(VerifyRequest(maxFailures: maxFailures)))
        guard case .verifyReport(let report) = reply else { throw Self.unexpected(reply, for: .verify) }
        return report
    }
}

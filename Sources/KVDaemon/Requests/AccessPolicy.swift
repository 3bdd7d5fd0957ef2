/// Who may see and change which session.
///
/// Rule: a session belongs to the uid that created it (the kernel-reported uid of the creating
/// connection). A peer sees, opens, reads, writes, forks from and drops only sessions whose
/// owner is its own uid — unless its uid is one of `adminUIDs` (default: root), which see and
/// may drop every session. Sessions of other uids are reported as not found, so their names do
/// not leak (a create with a taken name still fails with `sessionExists`).
public struct AccessPolicy: Sendable, Hashable {
    /// Uids allowed to access every session.
    public var adminUIDs: Set<UInt32>

    /// Creates a policy; `adminUIDs` defaults to `[0]`.
    public init(adminUIDs: Set<UInt32> = [0]) {
        self.adminUIDs = adminUIDs
    }

    /// True when `peer` may access a session owned by `owner`.
    public func mayAccess(sessionOwnedBy owner: UInt32, peer: PeerCredentials) -> Bool {
        owner == peer.uid || adminUIDs.contains(peer.uid)
    }

    /// True when `peer` lists every uid's sessions.
    public func seesAllSessions(_ peer: PeerCredentials) -> Bool {
        adminUIDs.contains(peer.uid)
    }
}

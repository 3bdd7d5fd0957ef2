import Synchronization

/// Per-connection state shared by the dispatcher's handlers: who the peer is, whether the
/// handshake happened, and which sessions the connection holds open (pinned in the store).
/// Requests of one connection are handled one at a time, so the lock is uncontended.
final class ConnectionState: Sendable {
    /// Kernel-reported identity of the peer.
    let peer: PeerCredentials
    /// The daemon's frame limit for this connection, in bytes after the length field.
    let maximumFrameBytes: Int
    private let mutable = Mutex(Mutable())

    private struct Mutable {
        var clientMaximumFrameBytes: UInt32? = nil
        var openSessions: Set<String> = []
    }

    init(peer: PeerCredentials, maximumFrameBytes: Int) {
        self.peer = peer
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// The largest frame the client accepts (from its Hello); nil before the handshake.
    var clientMaximumFrameBytes: UInt32? {
        get { mutable.withLock { $0.clientMaximumFrameBytes } }
        set { mutable.withLock { $0.clientMaximumFrameBytes = newValue } }
    }

    /// True once a valid Hello was answered.
    var handshakeDone: Bool { clientMaximumFrameBytes != nil }

    /// Records that the connection holds `name` open; returns false if it already did.
    func open(_ name: String) -> Bool { mutable.withLock { $0.openSessions.insert(name).inserted } }

    /// Forgets `name`; returns true if the connection held it.
    func close(_ name: String) -> Bool { mutable.withLock { $0.openSessions.remove(name) != nil } }

    /// True when the connection holds `name` open.
    func holds(_ name: String) -> Bool { mutable.withLock { $0.openSessions.contains(name) } }

    /// Every session the connection holds open, cleared.
    func takeOpenSessions() -> Set<String> {
        mutable.withLock { state in
            defer { state.openSessions = [] }
            return state.openSessions
        }
    }
}

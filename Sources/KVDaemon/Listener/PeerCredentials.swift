#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The identity of the process at the other end of a Unix-domain connection, as reported by the
/// kernel (`SO_PEERCRED`) when the connection was accepted. It cannot be forged by the client.
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The peer's process id at `connect(2)` time.
    public var pid: Int32
    /// The peer's effective user id; sessions are owned by and isolated by this value.
    public var uid: UInt32
    /// The peer's effective group id.
    public var gid: UInt32

    /// Creates credentials from their parts.
    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// Layout mirror of Linux's `struct ucred` (`pid_t pid; uid_t uid; gid_t gid;`, 12 bytes, no
/// padding). Glibc's Swift overlay does not export `ucred` (it is behind `_GNU_SOURCE`), so this
/// struct stands in for it; its size is checked before use.
struct LinuxUCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

extension PeerCredentials {
    /// Reads the peer credentials of an accepted Unix-domain socket channel with
    /// `getsockopt(SOL_SOCKET, SO_PEERCRED)`. Fails for channels that are not sockets.
    static func read(from channel: Channel) -> EventLoopFuture<PeerCredentials> {
        precondition(MemoryLayout<LinuxUCred>.size == 12, "struct ucred is 12 bytes on Linux")
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(DaemonError.peerCredentialsUnavailable)
        }
        let future: EventLoopFuture<LinuxUCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }
}

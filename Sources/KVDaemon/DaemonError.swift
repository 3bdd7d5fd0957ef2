/// Errors that stop the daemon from starting or serving. Each has a stable numeric code (the
/// process exit status of `kvd` is not derived from it; it is for logs and tests).
public enum DaemonError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another live daemon answers on the socket path.
    case socketInUse(path: String)
    /// The socket path exists and is not a socket; it is never deleted.
    case socketPathNotASocket(path: String)
    /// The socket path is longer than `sockaddr_un.sun_path` allows (107 bytes on Linux).
    case socketPathTooLong(path: String, limit: Int)
    /// A system call on the socket file failed.
    case socketFile(path: String, operation: String, errno: Int32)
    /// `SO_PEERCRED` could not be read for an accepted connection.
    case peerCredentialsUnavailable
    /// The configuration is invalid (message says which field).
    case invalidConfiguration(String)
    /// kvd runs in a user namespace that maps only `mappedUIDs` uids (fewer than 2³² − 1), so
    /// every peer whose uid is outside the map appears as `overflowUID` and they would all own
    /// the same sessions (``UserNamespaceMap``). Overridden by `--allow-partial-uid-map`.
    case partialUserNamespace(mappedUIDs: UInt64, overflowUID: UInt32)

    /// Stable numeric code.
    public var code: UInt16 {
        switch self {
        case .socketInUse: 1
        case .socketPathNotASocket: 2
        case .socketPathTooLong: 3
        case .socketFile: 4
        case .peerCredentialsUnavailable: 5
        case .invalidConfiguration: 6
        case .partialUserNamespace: 7
        }
    }

    public var description: String {
        switch self {
        case .socketInUse(let path): "another kvd is serving on \(path)"
        case .socketPathNotASocket(let path): "\(path) exists and is not a socket; refusing to replace it"
        case .socketPathTooLong(let path, let limit): "socket path \(path) is longer than \(limit) bytes"
        case .socketFile(let path, let operation, let errno): "\(operation)(\(path)) failed: errno \(errno)"
        case .peerCredentialsUnavailable: "could not read SO_PEERCRED of a connection"
        case .invalidConfiguration(let message): "invalid configuration: \(message)"
        case .partialUserNamespace(let mapped, let overflow):
            "kvd runs in a user namespace that maps \(mapped) uid\(mapped == 1 ? "" : "s") (/proc/self/uid_map; PrivateUsers=yes?); "
                + "peers outside it all appear as uid \(overflow) and would share one owner; "
                + "run kvd without a private user namespace (remove PrivateUsers= from its unit), "
                + "or pass --allow-partial-uid-map if every client runs inside this namespace"
        }
    }
}

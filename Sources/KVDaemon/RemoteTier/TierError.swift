import RedisCluster

/// Why the shared tier could not publish or read a session. Stable codes (logs and tests).
enum TierError: Error, Equatable, CustomStringConvertible {
    /// Blocks of the session are still in the upload queue: a manifest must not name blocks
    /// the cluster does not hold yet (publish again once they are uploaded).
    case blocksNotUploaded(count: Int)
    /// The cluster failed.
    case redis(RedisError)
    /// The session's manifest in the cluster is unusable.
    case manifest(ManifestError)

    var code: UInt16 {
        switch self {
        case .blocksNotUploaded: 1
        case .redis: 2
        case .manifest: 3
        }
    }

    var description: String {
        switch self {
        case .blocksNotUploaded(let count): "\(count) block\(count == 1 ? "" : "s") of the session not yet uploaded"
        case .redis(let error): "\(error)"
        case .manifest(let error): "unusable session manifest: \(error)"
        }
    }
}

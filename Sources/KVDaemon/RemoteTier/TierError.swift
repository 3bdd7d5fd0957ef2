import CoreTypes
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
    /// The manifest under this session's name names another owner, or a namespace this node
    /// does not give that owner: one owner's blocks never stand in for another's.
    case foreignOwner(session: String)
    /// The cluster does not hold the payload of a block a manifest names.
    case payloadMissing(BlockID)
    /// A fetched payload does not match the lengths and checksum its writer published.
    case payloadMismatch(BlockID)

    var code: UInt16 {
        switch self {
        case .blocksNotUploaded: 1
        case .redis: 2
        case .manifest: 3
        case .foreignOwner: 4
        case .payloadMissing: 5
        case .payloadMismatch: 6
        }
    }

    var description: String {
        switch self {
        case .blocksNotUploaded(let count): "\(count) block\(count == 1 ? "" : "s") of the session not yet uploaded"
        case .redis(let error): "\(error)"
        case .manifest(let error): "unusable session manifest: \(error)"
        case .foreignOwner(let session): "the shared tier's session \(session) belongs to another owner or namespace"
        case .payloadMissing(let id): "the shared tier holds no payload of block \(id)"
        case .payloadMismatch(let id): "the shared tier's payload of block \(id) does not match its published checksum and lengths"
        }
    }
}

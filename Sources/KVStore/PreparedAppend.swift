import CoreTypes

/// An append validated and encoded by ``KVStore/prepareAppend(session:blocks:)`` and not yet
/// queued: the session it was validated against (name and descriptor; the writer re-checks
/// both at commit) and its blocks with their payloads encoded. Pass it to
/// ``KVStore/submit(_:)``.
public struct PreparedAppend: Sendable {
    /// The session the blocks go to.
    public let session: String
    let descriptor: ModelDescriptor
    /// The owner namespace the blocks' ids were derived in.
    let namespace: UInt32
    let blocks: [PreparedBlock]

    /// Number of blocks.
    public var count: Int { blocks.count }
    /// Raw payload bytes of the blocks (before encoding).
    public var rawBytes: Int { blocks.reduce(0) { $0 + $1.rawLength } }
}

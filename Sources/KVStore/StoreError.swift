/// Every failure the store reports. Each case has a stable numeric ``code`` (never reused or
/// renumbered; the daemon forwards it to clients) and a human ``description``.
///
/// A thrown `StoreError` always means the failed call changed nothing: writes are validated
/// before anything is written and each call is one atomic LMDB (nested) transaction.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `createSession` or `forkSession` named a session that already exists. Code 1.
    case sessionExists
    /// No session has this name (or it was dropped or evicted). Code 2.
    case sessionNotFound
    /// The session's model descriptor differs from the one the request was prepared for
    /// (e.g. the session was dropped and re-created with another model mid-request). Code 3.
    case descriptorMismatch
    /// A block names a layer outside `0..<descriptor.layers`. Code 4.
    case badLayer
    /// A block's position is neither the layer's current block count (`expected`) nor the
    /// position of an identical, already stored block (idempotent retry); or a fork asked for
    /// more blocks per layer than the source holds. Code 5.
    case badPosition(expected: Int, got: Int)
    /// A payload is not `descriptor.payloadBytes` bytes long (`expected`, `got` in bytes). Code 6.
    case wrongSize(expected: Int, got: Int)
    /// A requested block id is not stored. Code 7.
    case blockNotFound
    /// The LMDB map (`StoreConfiguration.mapSize`) is full; nothing of the call was written. Code 8.
    case mapFull
    /// The file system is full (ENOSPC/EDQUOT) while committing; nothing of the call was
    /// acknowledged. Code 9.
    case diskFull
    /// The write does not fit the configured byte capacity even after evicting every
    /// evictable (unpinned, least-recently-used) session of the writer's namespace. Code 10.
    case capacityExceeded
    /// Stored bytes fail to decode or do not match their checksum, or a record is malformed. Code 11.
    case corrupt
    /// The store is closed (or closing). Code 12.
    case closed
    /// Any other LMDB return code (see `mdb_strerror`). Code 13.
    case lmdb(code: Int32)
    /// A session name is empty, longer than 255 UTF-8 bytes, or contains NUL. Code 14.
    case invalidName
    /// A representative key does not have `descriptor.vectorDimension` floats. Code 15.
    case wrongKeyDimension(expected: Int, got: Int)
    /// A model descriptor breaks one of its invariants (CoreTypes' `ModelDescriptor.violation`:
    /// a field outside its limits, D over 2^20 floats, or blocks larger than 64 MiB). Code 16.
    case invalidDescriptor
    /// An operating-system call failed (e.g. creating the data directory); `errno`. Code 17.
    case io(errno: Int32)
    /// The data directory holds a store of an unknown on-disk format version. Code 18.
    case unsupportedFormat(version: UInt32)
    /// Another open store (in this or another process) holds the data directory. Code 19.
    case locked
    /// The write would take the owner namespace past `StoreConfiguration.ownerQuota` even after
    /// evicting every one of its own evictable sessions. Code 20.
    case quotaExceeded
    /// A block's derived id and all its alternatives are taken by blocks with other bytes (only
    /// possible inside a sharing group, by a writer planting blocks on purpose). Code 21.
    case idConflict
    /// A `BlockSharing` configuration is inconsistent: `uid` is in two groups, or its group has
    /// fewer than two distinct uids. Code 22. (A trivial payload: a `String` here makes the
    /// compiler crash on typed `catch` patterns of this enum.)
    case invalidSharing(uid: UInt32)

    /// Stable numeric code of this error (see docs/STORAGE.md, "Error codes").
    public var code: UInt16 {
        switch self {
        case .sessionExists: 1
        case .sessionNotFound: 2
        case .descriptorMismatch: 3
        case .badLayer: 4
        case .badPosition: 5
        case .wrongSize: 6
        case .blockNotFound: 7
        case .mapFull: 8
        case .diskFull: 9
        case .capacityExceeded: 10
        case .corrupt: 11
        case .closed: 12
        case .lmdb: 13
        case .invalidName: 14
        case .wrongKeyDimension: 15
        case .invalidDescriptor: 16
        case .io: 17
        case .unsupportedFormat: 18
        case .locked: 19
        case .quotaExceeded: 20
        case .idConflict: 21
        case .invalidSharing: 22
        }
    }

    /// A one-line human explanation.
    public var description: String {
        switch self {
        case .sessionExists: "a session with this name already exists"
        case .sessionNotFound: "no such session"
        case .descriptorMismatch: "model descriptor does not match the session's"
        case .badLayer: "layer index out of range"
        case let .badPosition(expected, got): "bad block position \(got) (expected \(expected))"
        case let .wrongSize(expected, got): "payload is \(got) bytes (expected \(expected))"
        case .blockNotFound: "block not found"
        case .mapFull: "storage map is full"
        case .diskFull: "disk is full"
        case .capacityExceeded: "storage capacity exceeded (nothing evictable)"
        case .corrupt: "stored data is corrupt"
        case .closed: "store is closed"
        case let .lmdb(code): "LMDB error \(code)"
        case .invalidName: "invalid session name"
        case let .wrongKeyDimension(expected, got): "representative key has \(got) floats (expected \(expected))"
        case .invalidDescriptor: "invalid model descriptor"
        case let .io(errno): "I/O error (errno \(errno))"
        case let .unsupportedFormat(version): "unsupported store format version \(version)"
        case .locked: "the data directory is in use by another open store"
        case .quotaExceeded: "owner quota exceeded (none of its own sessions evictable)"
        case .idConflict: "every id for this block is taken by blocks with other bytes"
        case let .invalidSharing(uid): "invalid block sharing: uid \(uid) is in two groups, or in a group of fewer than two uids"
        }
    }
}

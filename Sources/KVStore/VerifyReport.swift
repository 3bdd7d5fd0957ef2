import CoreTypes

/// The result of ``KVStore/verify()``.
public struct VerifyReport: Sendable, Equatable {
    /// What kind of problem a failure is. Stable numeric codes (never reused or renumbered),
    /// equal to the wire's `verifyReport` reason codes (docs/PROTOCOL.md §6.7).
    public enum Kind: UInt16, Sendable, Equatable, CaseIterable {
        /// Anything not listed below.
        case other = 0
        /// A payload fails to decompress or does not match its CRC-32C.
        case payloadCorrupt = 1
        /// A payload decodes but its codec, lengths or checksum differ from the block's metadata.
        case payloadMetadataMismatch = 2
        /// A block's metadata record (or its key) cannot be decoded.
        case malformedBlockMetadata = 3
        /// A payload is stored without block metadata.
        case payloadWithoutMetadata = 4
        /// Block metadata is stored without a payload.
        case blockWithoutPayload = 5
        /// A block's reference count differs from the references to it.
        case referenceCountMismatch = 6
        /// A session references a block that is not stored.
        case missingBlock = 7
        /// A session's layer lists are not contiguous or do not match its block counts.
        case layerListMismatch = 8
        /// A session's stored-bytes total differs from the blocks it references.
        case storedBytesMismatch = 9
        /// A session record cannot be decoded.
        case malformedSession = 10
        /// A checkpoint without its session, or a session flag that disagrees with its checkpoint.
        case checkpointMismatch = 11
        /// The store could not be read at all.
        case storeUnreadable = 12
    }

    /// One problem found.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        /// The block concerned (nil for a session-level problem).
        public var block: BlockID?
        /// The session concerned, when known.
        public var session: String?
        /// The kind of problem (stable code).
        public var kind: Kind
        /// What is wrong, in words (with the numbers involved).
        public var reason: String
        /// Memberwise initialiser.
        public init(block: BlockID?, session: String?, kind: Kind, reason: String) {
            self.block = block
            self.session = session
            self.kind = kind
            self.reason = reason
        }
        /// `block: reason` or `session: reason`.
        public var description: String {
            "\(block.map { "\($0)" } ?? session ?? "-"): \(reason)"
        }
    }

    /// Blocks whose payload was decoded and checked.
    public var blocksChecked: Int
    /// Block references (session, layer, position) checked.
    public var referencesChecked: Int
    /// Everything found wrong; empty means the store is sound.
    public var failures: [Failure]

    /// Whether nothing is wrong.
    public var isOK: Bool { failures.isEmpty }

    /// Memberwise initialiser.
    public init(blocksChecked: Int, referencesChecked: Int, failures: [Failure]) {
        self.blocksChecked = blocksChecked
        self.referencesChecked = referencesChecked
        self.failures = failures
    }
}

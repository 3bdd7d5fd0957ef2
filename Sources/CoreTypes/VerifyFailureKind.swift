/// What kind of problem a store verification found. Stable numeric codes (never reused or
/// renumbered): the store's `VerifyReport` uses them and the wire's `verifyReport` carries them
/// as its `reason u16` (docs/PROTOCOL.md §6.7). A receiver that sees a code it does not know
/// treats it as ``other``.
public enum VerifyFailureKind: UInt16, Sendable, Hashable, CaseIterable {
    /// Anything not listed below.
    case other = 0
    /// A payload fails to decompress or does not match its CRC-32C checksum.
    case payloadCorrupt = 1
    /// A payload decodes but its codec, lengths or checksum differ from the block's metadata.
    case payloadMetadataMismatch = 2
    /// A block's metadata record cannot be decoded (or its key has the wrong size).
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

import CoreTypes
import Protocol

// Names of the Protocol module's types that clash with KVStore's (this file imports only
// Protocol, so the names below resolve unambiguously).

/// The wire's model descriptor.
typealias WireDescriptor = ModelDescriptor
/// The wire's 128-bit block id.
typealias WireBlockID = BlockID
/// The wire's element type.
typealias WireElementType = ElementType

import CoreTypes
import KVStore

// Names of the KVStore module's types that clash with Protocol's (this file imports only
// KVStore, so the names below resolve unambiguously).

/// The store's model descriptor.
typealias StoreDescriptor = ModelDescriptor
/// The store's 128-bit block id.
typealias StoreBlockID = BlockID
/// The store's element type.
typealias StoreElementType = ElementType

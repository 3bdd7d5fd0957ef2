import CoreTypes
import KVStore
import Protocol

// Conversions between the wire's and the store's spellings of the same values. The aliases
// (WireTypes.swift, StoreTypes.swift) keep the clashing names apart.

extension StoreDescriptor {
    /// The store's descriptor for a (validated) wire descriptor.
    init(wire: WireDescriptor) {
        self.init(
            layers: Int(wire.layers), queryHeads: Int(wire.queryHeads), kvHeads: Int(wire.kvHeads),
            headDim: Int(wire.headDim), elementType: wire.elementType == .fp16 ? .fp16 : .bf16,
            blockSize: Int(wire.blockSize), fingerprint: wire.fingerprint)
    }

    /// The wire's descriptor of a stored one.
    var wire: WireDescriptor {
        WireDescriptor(
            layers: UInt16(clamping: layers), queryHeads: UInt16(clamping: queryHeads), kvHeads: UInt16(clamping: kvHeads),
            headDim: UInt16(clamping: headDim), elementType: elementType == .fp16 ? .fp16 : .bf16,
            blockSize: UInt16(clamping: blockSize), fingerprint: fingerprint)
    }
}

extension StoreBlockID {
    init(wire: WireBlockID) { self.init(high: wire.high, low: wire.low) }
    init(prefix: PrefixHash) { self.init(high: prefix.high, low: prefix.low) }
    var wire: WireBlockID { WireBlockID(high: high, low: low) }
    var prefixHash: PrefixHash { PrefixHash(high: high, low: low) }
}

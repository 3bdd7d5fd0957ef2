import CoreTypes

/// One block to append to a session (see `KVStore.append(session:blocks:)`).
public struct NewBlock: Sendable {
    /// Layer index, `0..<descriptor.layers`.
    public var layer: Int
    /// Index of this block in the layer's list. Must equal the layer's current block count
    /// (counting earlier blocks of the same call), or name the position of an already stored
    /// identical block (same derived id: an idempotent retry, which writes nothing).
    public var position: Int
    /// 128-bit hash of the token prefix this block ends, computed by the client.
    public var prefixHash: PrefixHash
    /// The representative key: `descriptor.vectorDimension` floats.
    public var representativeKey: [Float]
    /// Raw K then V, `descriptor.payloadBytes` bytes (see `ModelDescriptor.payloadBytes`); a
    /// slice, so the daemon hands over a decoded request's payload without copying it.
    public var payload: ArraySlice<UInt8>

    /// Memberwise initialiser.
    public init(layer: Int, position: Int, prefixHash: PrefixHash, representativeKey: [Float], payload: ArraySlice<UInt8>) {
        self.layer = layer
        self.position = position
        self.prefixHash = prefixHash
        self.representativeKey = representativeKey
        self.payload = payload
    }

    /// The same, with the payload in an array of its own.
    public init(layer: Int, position: Int, prefixHash: PrefixHash, representativeKey: [Float], payload: [UInt8]) {
        self.init(layer: layer, position: position, prefixHash: prefixHash, representativeKey: representativeKey, payload: payload[...])
    }
}

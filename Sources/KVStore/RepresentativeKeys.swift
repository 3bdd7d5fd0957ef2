import CoreTypes

/// The representative keys of one (session, layer), contiguous for scanning. Only valid inside
/// the `withRepresentativeKeys` closure that received it.
public struct RepresentativeKeys {
    /// Number of blocks (rows), N.
    public let count: Int
    /// Floats per key, D (`descriptor.vectorDimension`).
    public let dimension: Int
    /// Block ids, `ids[i]` is the block at position i of the layer.
    public let ids: [BlockID]
    /// N×D Float32, row-major: row i is the key of `ids[i]`.
    public let keys: UnsafeBufferPointer<Float>

    /// Memberwise initialiser.
    public init(count: Int, dimension: Int, ids: [BlockID], keys: UnsafeBufferPointer<Float>) {
        self.count = count
        self.dimension = dimension
        self.ids = ids
        self.keys = keys
    }
}

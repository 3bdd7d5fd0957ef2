/// One entry of a GGUF tensor table, validated against the file it came from.
///
/// Invariants (checked by ``GGUFFile``): at most 4 dimensions, `dimensions[0]` (ne0) is a
/// multiple of `type.blockSize`, the byte range `offset ..< offset + byteCount` lies inside the
/// data section, and `offset` is a multiple of the file's alignment.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Extent of each dimension, `ne0` first (the fastest-varying, contiguous one), as in GGUF.
    /// A matrix with `rows` rows of `cols` elements is `[cols, rows]`.
    public let dimensions: [Int]
    /// Element encoding.
    public let type: GGMLType
    /// Bytes from the start of the file's data section to the tensor's first byte.
    public let offset: Int

    /// Creates a tensor description. ``GGUFFile`` validates it; the writer builds its own.
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Number of elements: the product of `dimensions` (1 for zero dimensions).
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Elements in one row (`ne0`; 1 for a zero-dimensional tensor).
    public var rowLength: Int { dimensions.first ?? 1 }

    /// Number of rows: elements / `ne0` (0 if `ne0` is 0).
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }

    /// Bytes one row occupies in the file.
    public var rowByteCount: Int { rowLength / type.blockSize * type.blockBytes }

    /// Bytes the tensor occupies in the file.
    public var byteCount: Int { rowCount * rowByteCount }
}

/// Raw (un-rotated) K and V of one block in Float32, layout [kvHeads][tokens][headDim] each.
public struct BlockKV: Sendable, Hashable {
    /// Tokens in the block (b).
    public let tokens: Int
    /// Keys, `kvHeads · tokens · headDim` floats.
    public var keys: [Float]
    /// Values, same layout as ``keys``.
    public var values: [Float]

    /// Wraps K and V (both `kvHeads · tokens · headDim` floats; the attention path checks sizes).
    public init(tokens: Int, keys: [Float], values: [Float]) {
        self.tokens = tokens; self.keys = keys; self.values = values
    }
}

/// 16-bit element type of stored K/V.
public enum KVElementType: UInt8, Sendable, Hashable, CaseIterable {
    case fp16 = 0
    case bf16 = 1
}

/// One block as stored and transported: 16-bit elements, layout [kvHeads][blockSize][headDim],
/// all K then all V (`2 · kvHeads · blockSize · headDim` elements, little-endian when serialised).
public struct KVBlock16: Sendable, Hashable {
    /// Element type.
    public let elementType: KVElementType
    /// Tokens in the block.
    public let tokens: Int
    /// K then V as 16-bit bit patterns.
    public let storage: [UInt16]

    /// Rounds a Float32 block to 16 bits (nearest even).
    public init(_ block: BlockKV, as type: KVElementType) {
        elementType = type; tokens = block.tokens
        let conv: (Float) -> UInt16 = type == .fp16 ? { HalfConversion.fp16(from: $0) } : { HalfConversion.bf16(from: $0) }
        storage = block.keys.map(conv) + block.values.map(conv)
    }

    /// Reads a serialised payload of `2 · kvHeads · tokens · headDim` little-endian 16-bit elements.
    /// - Throws: ``AttentionError/payloadSizeMismatch(expected:actual:)`` on a wrong byte count.
    public init(bytes: UnsafeRawBufferPointer, as type: KVElementType, shape: AttentionShape, tokens: Int) throws(AttentionError) {
        let n = 2 * shape.kvWidth * tokens
        guard bytes.count == 2 * n else { throw .payloadSizeMismatch(expected: 2 * n, actual: bytes.count) }
        elementType = type; self.tokens = tokens
        storage = (0..<n).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }

    /// The serialised payload (little-endian 16-bit elements).
    public var bytes: [UInt8] { storage.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] } }

    /// Widens to Float32 (exact).
    public func float() -> BlockKV {
        let conv: (UInt16) -> Float = elementType == .fp16 ? { HalfConversion.float(fromFP16: $0) } : { HalfConversion.float(fromBF16: $0) }
        let half = storage.count / 2
        return BlockKV(tokens: tokens, keys: storage[..<half].map(conv), values: storage[half...].map(conv))
    }
}

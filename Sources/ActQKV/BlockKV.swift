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

    /// Rounds a Float32 block to 16 bits (nearest even; the bulk kernels of ``HalfConversion``,
    /// bit-identical to its scalar forms).
    public init(_ block: BlockKV, as type: KVElementType) {
        elementType = type; tokens = block.tokens
        var out = [UInt16](repeating: 0, count: block.keys.count + block.values.count)
        out.withUnsafeMutableBufferPointer { o in
            Self.narrow(block.keys, as: type, into: UnsafeMutableBufferPointer(rebasing: o[..<block.keys.count]))
            Self.narrow(block.values, as: type, into: UnsafeMutableBufferPointer(rebasing: o[block.keys.count...]))
        }
        storage = out
    }

    private static func narrow(_ values: [Float], as type: KVElementType, into dst: UnsafeMutableBufferPointer<UInt16>) {
        values.withUnsafeBufferPointer { v in
            guard let src = v.baseAddress, let d = dst.baseAddress else { return }
            switch type {
            case .fp16: HalfConversion.fp16(fromFloats: src, into: d, count: v.count)
            case .bf16: HalfConversion.bf16(fromFloats: src, into: d, count: v.count)
            }
        }
    }

    /// Reads a serialised payload of `2 · kvHeads · tokens · headDim` little-endian 16-bit elements.
    /// - Throws: ``AttentionError/payloadSizeMismatch(expected:actual:)`` on a wrong byte count.
    public init(bytes: UnsafeRawBufferPointer, as type: KVElementType, shape: AttentionShape, tokens: Int) throws(AttentionError) {
        let n = 2 * shape.kvWidth * tokens
        guard bytes.count == 2 * n else { throw .payloadSizeMismatch(expected: 2 * n, actual: bytes.count) }
        elementType = type; self.tokens = tokens
        #if _endian(little)
        var out = [UInt16](repeating: 0, count: n)
        out.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        storage = out
        #else
        storage = (0..<n).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
        #endif
    }

    /// The serialised payload (little-endian 16-bit elements).
    public var bytes: [UInt8] {
        #if _endian(little)
        storage.withUnsafeBytes { Array($0) }
        #else
        storage.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        #endif
    }

    /// Widens to Float32 with the bulk kernels of ``HalfConversion``: exact for every number and
    /// ±∞; a NaN stays NaN (F16C sets the quiet bit of a signalling fp16 NaN).
    public func float() -> BlockKV {
        let half = storage.count / 2
        var keys = [Float](repeating: 0, count: half), values = [Float](repeating: 0, count: half)
        storage.withUnsafeBufferPointer { s in
            guard let src = s.baseAddress else { return }
            keys.withUnsafeMutableBufferPointer { widen(src, into: $0) }
            values.withUnsafeMutableBufferPointer { widen(src + half, into: $0) }
        }
        return BlockKV(tokens: tokens, keys: keys, values: values)
    }

    private func widen(_ src: UnsafePointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        guard let d = dst.baseAddress else { return }
        switch elementType {
        case .fp16: HalfConversion.floats(fromFP16: src, into: d, count: dst.count)
        case .bf16: HalfConversion.floats(fromBF16: src, into: d, count: dst.count)
        }
    }
}

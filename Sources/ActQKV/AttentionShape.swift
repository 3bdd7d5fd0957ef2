/// Head layout of one attention layer. Query head h reads KV head ⌊h/G⌋, G = H / H_kv.
public struct AttentionShape: Sendable, Hashable {
    /// H: query heads.
    public let heads: Int
    /// H_kv: key/value heads (divides H).
    public let kvHeads: Int
    /// d: floats per head.
    public let headDim: Int

    /// - Throws: ``AttentionError/invalidShape(heads:kvHeads:headDim:)`` unless H, H_kv, d ≥ 1,
    ///   H_kv divides H and d is even.
    public init(heads: Int, kvHeads: Int, headDim: Int) throws(AttentionError) {
        guard heads >= 1, kvHeads >= 1, headDim >= 2, headDim % 2 == 0, heads % kvHeads == 0,
              heads <= 4096, headDim <= 4096 else {
            throw .invalidShape(heads: heads, kvHeads: kvHeads, headDim: headDim)
        }
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }

    /// G = H / H_kv.
    public var groupSize: Int { heads / kvHeads }
    /// D = H·d: width of a rotated query row, a probe and a block key.
    public var queryWidth: Int { heads * headDim }
    /// H_kv·d: width of one token's keys (or values).
    public var kvWidth: Int { kvHeads * headDim }
    /// The KV head read by query head `h`.
    @inlinable public func kvHead(forQueryHead h: Int) -> Int { h / (heads / kvHeads) }
}

/// Bad input to the worker-side attention path. ``code`` is stable.
public enum AttentionError: Error, Sendable, Hashable {
    /// Impossible head layout.
    case invalidShape(heads: Int, kvHeads: Int, headDim: Int)
    /// A buffer's element count differs from what the shape and token count require.
    case bufferSizeMismatch(buffer: String, expected: Int, actual: Int)
    /// A recalled block's layout differs from the layer's (`kvHeads × blockSize × headDim`).
    case blockShapeMismatch(index: Int)
    /// A chunk with no token, or more than `chunkTokens`.
    case invalidChunkLength(Int)
    /// Tokens asked for are not (or no longer) held by the layer.
    case positionsUnavailable(Range<Int>)
    /// A 16-bit payload's byte count is wrong.
    case payloadSizeMismatch(expected: Int, actual: Int)

    /// Stable numeric code (4xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .invalidShape: 401
        case .bufferSizeMismatch: 402
        case .blockShapeMismatch: 403
        case .invalidChunkLength: 404
        case .positionsUnavailable: 405
        case .payloadSizeMismatch: 406
        }
    }
}

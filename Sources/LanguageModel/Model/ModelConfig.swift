/// The decoder architectures the forward pass implements (GGUF `general.architecture`).
public enum Architecture: String, Sendable, Equatable, CaseIterable {
    /// Llama: RMSNorm → attention → residual → RMSNorm → SwiGLU → residual; rotary embedding in
    /// llama.cpp's NORMAL (interleaved-pair) mode; every layer attends to every earlier token.
    case llama
    /// Gemma 3: embeddings scaled by √embeddingLength; RMSNorm of every query and key head
    /// (QK-norm); RMSNorm after attention and after the feed-forward network (before each
    /// residual add); GELU-gated feed-forward; rotary embedding in NEOX (half-split) mode; 5 of
    /// every 6 layers attend only within a sliding window and rotate with a base of 10 000.
    case gemma3
}

/// How a layer's attention sees the sequence.
public enum LayerAttention: Sendable, Equatable, Hashable {
    /// Every earlier token (and itself).
    case global
    /// Only the last `window` tokens including itself: the query at position p sees keys at
    /// positions p − window + 1 … p (llama.cpp's standard sliding window).
    case sliding(window: Int)

    /// The window length in tokens, nil for global attention.
    public var window: Int? {
        if case .sliding(let w) = self { return w }
        return nil
    }
}

/// The feed-forward activation of a layer.
public enum FeedForwardActivation: Sendable, Equatable {
    /// silu(gate) ⊙ up.
    case swiGLU
    /// gelu(gate) ⊙ up, GELU in its tanh approximation.
    case geGLU
}

/// How rotary embedding pairs the dimensions of a head.
public enum RotaryPairing: Sendable, Equatable {
    /// Adjacent pairs (x[2i], x[2i+1]) — llama.cpp's NORMAL mode (architecture `llama`).
    case interleaved
    /// Pairs (x[i], x[i + r/2]) for rotated width r — llama.cpp's NEOX mode (Gemma).
    case halves
}

/// The shape of a decoder model, read from the `<architecture>.*` keys of a GGUF file.
///
/// Invariants (checked by the initialisers): every count is positive, `headCount` is a
/// multiple of `kvHeadCount`, `ropeDimension` is even and at most `headDimension`, there is one
/// ``LayerAttention`` per layer and every sliding window is positive.
public struct ModelConfig: Sendable, Equatable {
    /// The architecture (what the layers compute).
    public var architecture: Architecture
    /// Number of tokens in the vocabulary (rows of the embedding matrix).
    public var vocabularySize: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Width of the residual stream (floats per token).
    public var embeddingLength: Int
    /// Hidden width of the gated feed-forward network.
    public var feedForwardLength: Int
    /// Number of query heads H.
    public var headCount: Int
    /// Number of key/value heads H_kv; query head h reads KV head ⌊h / (H / H_kv)⌋.
    public var kvHeadCount: Int
    /// Floats per head d (Llama: embeddingLength / headCount; Gemma 3: `attention.key_length`).
    public var headDimension: Int
    /// Number of leading dimensions of each head that RoPE rotates (even, ≤ headDimension).
    public var ropeDimension: Int
    /// RoPE base θ of the global layers; pair i rotates by position · θ^(−2i / ropeDimension).
    public var ropeFrequencyBase: Float
    /// RoPE base θ of the sliding-window layers.
    public var localRopeFrequencyBase: Float
    /// ε added to the mean square in RMSNorm.
    public var rmsNormEpsilon: Float
    /// The context length the model was trained for, in tokens.
    public var contextLength: Int
    /// What each layer attends to, one entry per layer.
    public var layerAttention: [LayerAttention]

    /// Query heads per KV head (G = H / H_kv).
    public var groupSize: Int { headCount / kvHeadCount }
    /// Floats of K (or V) per token over all KV heads (H_kv · d).
    public var kvWidth: Int { kvHeadCount * headDimension }
    /// Floats of Q (and of the attention output) per token over all query heads (H · d).
    public var queryWidth: Int { headCount * headDimension }
    /// The indices of the layers that attend globally (the ones whose keys and values a long
    /// context needs in full).
    public var globalLayers: [Int] { layerAttention.indices.filter { layerAttention[$0] == .global } }
    /// Factor applied to the token embeddings before the first layer (Gemma: √embeddingLength).
    public var embeddingScale: Float { architecture == .gemma3 ? Float(embeddingLength).squareRoot() : 1 }
    /// The feed-forward activation.
    public var feedForwardActivation: FeedForwardActivation { architecture == .gemma3 ? .geGLU : .swiGLU }
    /// The rotary pairing.
    public var rotaryPairing: RotaryPairing { architecture == .gemma3 ? .halves : .interleaved }
    /// Whether each query and key head is RMS-normalised before rotation.
    public var normalizesQueriesAndKeys: Bool { architecture == .gemma3 }
    /// Whether attention and feed-forward outputs are RMS-normalised before their residual adds.
    public var normalizesSublayerOutputs: Bool { architecture == .gemma3 }

    /// The RoPE base of layer `layer`.
    public func ropeFrequencyBase(layer: Int) -> Float {
        layerAttention[layer] == .global ? ropeFrequencyBase : localRopeFrequencyBase
    }

    /// Builds and validates a configuration from explicit values. `headDimension` defaults to
    /// embeddingLength / headCount, `localRopeFrequencyBase` to `ropeFrequencyBase` and
    /// `layerAttention` to all-global.
    public init(
        architecture: Architecture = .llama,
        vocabularySize: Int, layerCount: Int, embeddingLength: Int, feedForwardLength: Int,
        headCount: Int, kvHeadCount: Int, headDimension: Int? = nil, ropeDimension: Int? = nil,
        ropeFrequencyBase: Float = 10_000, localRopeFrequencyBase: Float? = nil,
        rmsNormEpsilon: Float = 1e-5, contextLength: Int = 2048, layerAttention: [LayerAttention]? = nil
    ) throws(ModelError) {
        let prefix = architecture.rawValue + "."
        func positive(_ v: Int, _ key: String) throws(ModelError) {
            if v <= 0 { throw .invalidMetadata(key: prefix + key, reason: "must be positive, is \(v)") }
        }
        try positive(vocabularySize, "vocab_size")
        try positive(layerCount, "block_count")
        try positive(embeddingLength, "embedding_length")
        try positive(feedForwardLength, "feed_forward_length")
        try positive(headCount, "attention.head_count")
        try positive(kvHeadCount, "attention.head_count_kv")
        try positive(contextLength, "context_length")
        guard headCount % kvHeadCount == 0 else {
            throw .invalidMetadata(key: prefix + "attention.head_count_kv", reason: "\(headCount) query heads are not a multiple of \(kvHeadCount) KV heads")
        }
        let d: Int
        if let headDimension {
            try positive(headDimension, "attention.key_length")
            d = headDimension
        } else {
            guard embeddingLength % headCount == 0 else {
                throw .invalidMetadata(key: prefix + "attention.head_count", reason: "embedding length \(embeddingLength) is not a multiple of \(headCount) heads")
            }
            d = embeddingLength / headCount
        }
        let rope = ropeDimension ?? d
        guard rope > 0, rope % 2 == 0, rope <= d else {
            throw .invalidMetadata(key: prefix + "rope.dimension_count", reason: "\(rope) must be even and in 1...\(d)")
        }
        let localBase = localRopeFrequencyBase ?? ropeFrequencyBase
        guard ropeFrequencyBase > 0, ropeFrequencyBase.isFinite, localBase > 0, localBase.isFinite else {
            throw .invalidMetadata(key: prefix + "rope.freq_base", reason: "must be a positive number, is \(ropeFrequencyBase)")
        }
        guard rmsNormEpsilon >= 0, rmsNormEpsilon.isFinite else {
            throw .invalidMetadata(key: prefix + "attention.layer_norm_rms_epsilon", reason: "must be a non-negative number")
        }
        let layers = layerAttention ?? Array(repeating: .global, count: layerCount)
        guard layers.count == layerCount, layers.allSatisfy({ ($0.window ?? 1) > 0 }) else {
            throw .invalidMetadata(key: prefix + "attention.sliding_window", reason: "needs one positive window or global attention per layer")
        }
        self.architecture = architecture
        self.vocabularySize = vocabularySize
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = d
        self.ropeDimension = rope
        self.ropeFrequencyBase = ropeFrequencyBase
        self.localRopeFrequencyBase = localBase
        self.rmsNormEpsilon = rmsNormEpsilon
        self.contextLength = contextLength
        self.layerAttention = layers
    }
}

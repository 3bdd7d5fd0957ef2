/// The shape of a Llama-family model, read from the `llama.*` keys of a GGUF file.
///
/// Invariants (checked by the initialisers): every count is positive, `headCount` is a
/// multiple of `kvHeadCount`, `embeddingLength == headCount * headDimension`, and
/// `ropeDimension` is even and at most `headDimension`.
public struct ModelConfig: Sendable, Equatable {
    /// Number of tokens in the vocabulary (rows of the embedding matrix).
    public var vocabularySize: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Width of the residual stream (floats per token).
    public var embeddingLength: Int
    /// Hidden width of the SwiGLU feed-forward network.
    public var feedForwardLength: Int
    /// Number of query heads H.
    public var headCount: Int
    /// Number of key/value heads H_kv; query head h reads KV head ⌊h / (H / H_kv)⌋.
    public var kvHeadCount: Int
    /// Floats per head d (= embeddingLength / headCount).
    public var headDimension: Int
    /// Number of leading dimensions of each head that RoPE rotates (even, ≤ headDimension).
    public var ropeDimension: Int
    /// RoPE base θ; pair i rotates by position · θ^(−2i / ropeDimension).
    public var ropeFrequencyBase: Float
    /// ε added to the mean square in RMSNorm.
    public var rmsNormEpsilon: Float
    /// The context length the model was trained for, in tokens.
    public var contextLength: Int

    /// Query heads per KV head (G = H / H_kv).
    public var groupSize: Int { headCount / kvHeadCount }
    /// Floats of K (or V) per token over all KV heads (H_kv · d).
    public var kvWidth: Int { kvHeadCount * headDimension }

    /// Builds and validates a configuration from explicit values.
    public init(
        vocabularySize: Int, layerCount: Int, embeddingLength: Int, feedForwardLength: Int,
        headCount: Int, kvHeadCount: Int, ropeDimension: Int? = nil,
        ropeFrequencyBase: Float = 10_000, rmsNormEpsilon: Float = 1e-5, contextLength: Int = 2048
    ) throws(ModelError) {
        func positive(_ v: Int, _ key: String) throws(ModelError) {
            if v <= 0 { throw .invalidMetadata(key: key, reason: "must be positive, is \(v)") }
        }
        try positive(vocabularySize, "llama.vocab_size")
        try positive(layerCount, "llama.block_count")
        try positive(embeddingLength, "llama.embedding_length")
        try positive(feedForwardLength, "llama.feed_forward_length")
        try positive(headCount, "llama.attention.head_count")
        try positive(kvHeadCount, "llama.attention.head_count_kv")
        try positive(contextLength, "llama.context_length")
        guard headCount % kvHeadCount == 0 else {
            throw .invalidMetadata(key: "llama.attention.head_count_kv", reason: "\(headCount) query heads are not a multiple of \(kvHeadCount) KV heads")
        }
        guard embeddingLength % headCount == 0 else {
            throw .invalidMetadata(key: "llama.attention.head_count", reason: "embedding length \(embeddingLength) is not a multiple of \(headCount) heads")
        }
        let headDimension = embeddingLength / headCount
        let rope = ropeDimension ?? headDimension
        guard rope > 0, rope % 2 == 0, rope <= headDimension else {
            throw .invalidMetadata(key: "llama.rope.dimension_count", reason: "\(rope) must be even and in 1...\(headDimension)")
        }
        guard ropeFrequencyBase > 0, ropeFrequencyBase.isFinite else {
            throw .invalidMetadata(key: "llama.rope.freq_base", reason: "must be a positive number, is \(ropeFrequencyBase)")
        }
        guard rmsNormEpsilon >= 0, rmsNormEpsilon.isFinite else {
            throw .invalidMetadata(key: "llama.attention.layer_norm_rms_epsilon", reason: "must be a non-negative number")
        }
        self.vocabularySize = vocabularySize
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.ropeDimension = rope
        self.ropeFrequencyBase = ropeFrequencyBase
        self.rmsNormEpsilon = rmsNormEpsilon
        self.contextLength = contextLength
    }
}

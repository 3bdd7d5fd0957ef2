/// The weights of one transformer block, as the forward pass uses them.
public struct LayerWeights: Sendable {
    /// RMSNorm weight before attention (`embeddingLength` floats).
    public var attentionNorm: [Float]
    /// Q, K and V projections stacked: rows `0..<H·d` are Q, then `H_kv·d` rows of K, then
    /// `H_kv·d` rows of V; `embeddingLength` columns.
    public var qkv: LinearWeight
    /// RMSNorm weights of every query head and every key head (`headDimension` floats each;
    /// present exactly when the architecture normalises queries and keys).
    public var queryNorm: [Float]?
    /// See ``queryNorm``.
    public var keyNorm: [Float]?
    /// Attention output projection (`embeddingLength × H·d`).
    public var attentionOutput: LinearWeight
    /// RMSNorm weights applied to the attention output and to the feed-forward output before
    /// their residual adds (`embeddingLength` floats each; present exactly when the
    /// architecture normalises sublayer outputs).
    public var postAttentionNorm: [Float]?
    /// See ``postAttentionNorm``.
    public var postFeedForwardNorm: [Float]?
    /// RMSNorm weight before the feed-forward network (`embeddingLength` floats).
    public var feedForwardNorm: [Float]
    /// Gate and up projections stacked: `feedForwardLength` gate rows, then as many up rows.
    public var gateUp: LinearWeight
    /// Down projection (`embeddingLength × feedForwardLength`).
    public var down: LinearWeight

    /// Bundles one block's weights; shapes are checked against `config`.
    public init(
        config: ModelConfig, attentionNorm: [Float], qkv: LinearWeight, attentionOutput: LinearWeight,
        feedForwardNorm: [Float], gateUp: LinearWeight, down: LinearWeight,
        queryNorm: [Float]? = nil, keyNorm: [Float]? = nil, postAttentionNorm: [Float]? = nil, postFeedForwardNorm: [Float]? = nil
    ) {
        let e = config.embeddingLength, f = config.feedForwardLength, d = config.headDimension
        precondition(attentionNorm.count == e && feedForwardNorm.count == e)
        precondition(qkv.inputCount == e && qkv.outputCount == config.queryWidth + 2 * config.kvWidth)
        precondition(attentionOutput.inputCount == config.queryWidth && attentionOutput.outputCount == e)
        precondition(config.normalizesQueriesAndKeys == (queryNorm != nil) && (queryNorm != nil) == (keyNorm != nil))
        precondition((queryNorm?.count ?? d) == d && (keyNorm?.count ?? d) == d)
        precondition(config.normalizesSublayerOutputs == (postAttentionNorm != nil) && (postAttentionNorm != nil) == (postFeedForwardNorm != nil))
        precondition((postAttentionNorm?.count ?? e) == e && (postFeedForwardNorm?.count ?? e) == e)
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.postAttentionNorm = postAttentionNorm
        self.postFeedForwardNorm = postFeedForwardNorm
        precondition(gateUp.inputCount == e && gateUp.outputCount == 2 * f)
        precondition(down.inputCount == f && down.outputCount == e)
        self.attentionNorm = attentionNorm
        self.qkv = qkv
        self.attentionOutput = attentionOutput
        self.feedForwardNorm = feedForwardNorm
        self.gateUp = gateUp
        self.down = down
    }
}

/// All weights of a decoder model.
public struct ModelWeights: Sendable {
    /// The model's shape.
    public var config: ModelConfig
    /// Token embeddings, `vocabularySize × embeddingLength`, row-major; empty when the rows are
    /// read from ``tokenEmbeddingRows`` instead (on-demand loading).
    public var tokenEmbedding: [Float]
    /// The token embeddings in their stored block format, when ``tokenEmbedding`` is empty.
    public var tokenEmbeddingRows: QuantizedMatrix?
    /// The transformer blocks, in order.
    public var layers: [LayerWeights]
    /// Final RMSNorm weight (`embeddingLength` floats).
    public var outputNorm: [Float]
    /// Output projection to logits (`vocabularySize × embeddingLength`); shares storage with
    /// `tokenEmbedding` when the file ties them (no `output.weight`).
    public var output: LinearWeight

    /// Bundles a model's weights; shapes are checked against `config`.
    public init(config: ModelConfig, tokenEmbedding: [Float], layers: [LayerWeights], outputNorm: [Float], output: LinearWeight) {
        precondition(tokenEmbedding.count == config.vocabularySize * config.embeddingLength)
        precondition(layers.count == config.layerCount && outputNorm.count == config.embeddingLength)
        precondition(output.inputCount == config.embeddingLength && output.outputCount == config.vocabularySize)
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.layers = layers
        self.outputNorm = outputNorm
        self.output = output
        self.tokenEmbeddingRows = nil
    }

    /// Bundles a model's weights whose token embeddings stay in block format (`tokenEmbeddingRows`,
    /// `vocabularySize × embeddingLength`); ``tokenEmbedding`` is then empty.
    public init(config: ModelConfig, tokenEmbeddingRows: QuantizedMatrix, layers: [LayerWeights], outputNorm: [Float], output: LinearWeight) {
        precondition(tokenEmbeddingRows.outputCount == config.vocabularySize && tokenEmbeddingRows.inputCount == config.embeddingLength)
        precondition(layers.count == config.layerCount && outputNorm.count == config.embeddingLength)
        precondition(output.inputCount == config.embeddingLength && output.outputCount == config.vocabularySize)
        self.config = config
        self.tokenEmbedding = []
        self.layers = layers
        self.outputNorm = outputNorm
        self.output = output
        self.tokenEmbeddingRows = tokenEmbeddingRows
    }
}

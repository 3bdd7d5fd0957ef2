import CBLAS
/// A decoder-only transformer of one of the ``Architecture``s: embeddings, `layerCount` blocks
/// of RMSNorm → grouped-query attention → residual → RMSNorm → gated feed-forward → residual, a
/// final RMSNorm and the output projection; Gemma 3 adds the embedding scale, QK-norm, the
/// post-sublayer norms, GELU gating and sliding-window layers (see ``ModelConfig``).
///
/// The model is immutable and can be shared between tasks; per-sequence state lives in an
/// ``AttentionBackend`` (e.g. ``DenseAttentionCache``). A layer is exposed in three separable
/// steps so that other attention methods can be plugged in:
/// ``attentionInputs(layer:hidden:tokenCount:)`` (normalise, project Q/K/V, un-rotated),
/// the backend's `attend`, and ``completeLayer(layer:attentionOutput:hidden:tokenCount:)``
/// (output projection, residual, feed-forward).
public final class DecoderModel: Sendable {
    /// Which logits ``forward(tokens:attention:logits:)`` returns.
    public enum LogitsSelection: Sendable {
        /// None (prefill only).
        case none
        /// The last token's `vocabularySize` logits.
        case last
        /// Every token's logits, `tokens.count × vocabularySize`, row-major.
        case all
    }

    /// Q, K and V of a chunk, each row-major with one row per token, un-rotated.
    public struct AttentionInputs: Sendable {
        /// `tokenCount × (H·d)` floats (already RMS-normalised per head where the architecture
        /// normalises queries and keys).
        public var queries: [Float]
        /// `tokenCount × (H_kv·d)` floats.
        public var keys: [Float]
        /// `tokenCount × (H_kv·d)` floats.
        public var values: [Float]
    }

    /// The model's shape.
    public let config: ModelConfig
    /// The weights.
    public let weights: ModelWeights
    /// The rotary embedding every attention backend of this model must use, per layer (layers
    /// with the same base share one).
    public let ropes: [RotaryEmbedding]
    /// Tokens per prefill chunk (bounds activation memory to ≈ 6 · chunk · feedForwardLength floats).
    public let prefillChunk: Int
    /// How activations enter the products with block-quantised weights.
    public let activations: ActivationPrecision

    /// Creates a model over `weights`; prefill runs in chunks of `prefillChunk` tokens (default
    /// 512); products with block-quantised weights take `activations` (default
    /// ``ActivationPrecision/int8``, llama.cpp's arithmetic).
    public init(weights: ModelWeights, prefillChunk: Int = 512, activations: ActivationPrecision = .int8) {
        precondition(prefillChunk > 0)
        ComputeThreads.configure()
        self.config = weights.config
        self.weights = weights
        self.ropes = RotaryEmbedding.perLayer(config: weights.config)
        self.prefillChunk = prefillChunk
        self.activations = activations
    }

    /// A dense KV cache for `capacity` tokens (default: the model's context length).
    public func makeDenseCache(capacity: Int? = nil) -> DenseAttentionCache {
        DenseAttentionCache(config: config, ropes: ropes, capacity: capacity ?? config.contextLength)
    }

    /// Runs `tokens` through the model at positions `attention.position ..< + tokens.count`,
    /// in chunks of at most ``prefillChunk`` tokens, and returns the selected logits.
    public func forward(tokens: [Int32], attention: some AttentionBackend, logits selection: LogitsSelection = .last) throws(ModelError) -> [Float] {
        guard !tokens.isEmpty else { throw .emptyInput }
        let vocab = config.vocabularySize
        for t in tokens where t < 0 || Int(t) >= vocab { throw .tokenOutOfRange(token: t, vocabularySize: vocab) }
        var result = [Float]()
        if selection == .all { result.reserveCapacity(tokens.count * vocab) }
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + prefillChunk)
            let n = end - start
            var hidden = try embed(tokens[start..<end])
            for layer in 0..<config.layerCount {
                let inputs = attentionInputs(layer: layer, hidden: hidden, tokenCount: n)
                var attended = [Float](repeating: 0, count: n * config.queryWidth)
                try inputs.queries.withUnsafeBufferPointer { (q) throws(ModelError) in
                    try inputs.keys.withUnsafeBufferPointer { (k) throws(ModelError) in
                        try inputs.values.withUnsafeBufferPointer { (v) throws(ModelError) in
                            try attended.withUnsafeMutableBufferPointer { (o) throws(ModelError) in
                                try attention.attend(layer: layer, queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                                                     tokenCount: n, output: o.baseAddress!)
                            }
                        }
                    }
                }
                completeLayer(layer: layer, attentionOutput: attended, hidden: &hidden, tokenCount: n)
            }
            attention.advance(by: n)
            switch selection {
            case .none: break
            case .all: result.append(contentsOf: self.logits(hidden: hidden, rows: 0..<n))
            case .last: if end == tokens.count { result = self.logits(hidden: hidden, rows: (n - 1)..<n) }
            }
            start = end
        }
        return result
    }

    /// The embedding rows of `tokens` times the architecture's embedding scale
    /// (`tokens.count × embeddingLength` floats).
    public func embed(_ tokens: ArraySlice<Int32>) throws(ModelError) -> [Float] {
        var hidden = try embeddingRows(tokens)
        let scale = config.embeddingScale
        if scale != 1 { for i in hidden.indices { hidden[i] *= scale } }
        return hidden
    }

    private func embeddingRows(_ tokens: ArraySlice<Int32>) throws(ModelError) -> [Float] {
        let e = config.embeddingLength, vocab = config.vocabularySize
        var hidden = [Float](repeating: 0, count: tokens.count * e)
        for (i, t) in tokens.enumerated() {
            guard t >= 0, Int(t) < vocab else { throw .tokenOutOfRange(token: t, vocabularySize: vocab) }
            if let rows = weights.tokenEmbeddingRows, weights.tokenEmbedding.isEmpty {
                hidden.withUnsafeMutableBufferPointer { h in rows.dequantizeRows(Int(t)..<(Int(t) + 1), into: h.baseAddress! + i * e) }
                continue
            }
            let row = Int(t) * e
            hidden.withUnsafeMutableBufferPointer { h in
                weights.tokenEmbedding.withUnsafeBufferPointer { w in
                    (h.baseAddress! + i * e).update(from: w.baseAddress! + row, count: e)
                }
            }
        }
        return hidden
    }

    /// Step 1 of a layer: RMSNorm of the residual stream `hidden` (`tokenCount × embeddingLength`)
    /// and the Q, K, V projections (with QK-norm where the architecture has it), without rotary
    /// embedding.
    public func attentionInputs(layer: Int, hidden: [Float], tokenCount n: Int) -> AttentionInputs {
        let w = weights.layers[layer]
        let e = config.embeddingLength, kvw = config.kvWidth, qw = config.queryWidth
        let qkvWidth = qw + 2 * kvw
        var normed = [Float](overwrittenCount: n * e)
        var qkv = [Float](overwrittenCount: n * qkvWidth)
        hidden.withUnsafeBufferPointer { x in
            w.attentionNorm.withUnsafeBufferPointer { nw in
                normed.withUnsafeMutableBufferPointer { y in
                    RMSNorm.apply(x.baseAddress!, weight: nw.baseAddress!, epsilon: config.rmsNormEpsilon, rows: n, width: e, output: y.baseAddress!)
                }
            }
        }
        normed.withUnsafeBufferPointer { x in
            qkv.withUnsafeMutableBufferPointer { y in w.qkv.apply(x.baseAddress!, rows: n, into: y.baseAddress!, activations: activations) }
        }
        var q = [Float](overwrittenCount: n * qw)
        var k = [Float](overwrittenCount: n * kvw)
        var v = [Float](overwrittenCount: n * kvw)
        qkv.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBufferPointer { qb in
                k.withUnsafeMutableBufferPointer { kb in
                    v.withUnsafeMutableBufferPointer { vb in
                        for t in 0..<n {
                            let row = src.baseAddress! + t * qkvWidth
                            (qb.baseAddress! + t * qw).update(from: row, count: qw)
                            (kb.baseAddress! + t * kvw).update(from: row + qw, count: kvw)
                            (vb.baseAddress! + t * kvw).update(from: row + qw + kvw, count: kvw)
                        }
                    }
                }
            }
        }
        if let qn = w.queryNorm, let kn = w.keyNorm {
            let d = config.headDimension
            Self.normalize(&q, weight: qn, rows: n * config.headCount, width: d, epsilon: config.rmsNormEpsilon)
            Self.normalize(&k, weight: kn, rows: n * config.kvHeadCount, width: d, epsilon: config.rmsNormEpsilon)
        }
        return AttentionInputs(queries: q, keys: k, values: v)
    }

    /// Step 3 of a layer: adds the attention output projection to `hidden` (RMS-normalised
    /// first where the architecture normalises sublayer outputs), then likewise the gated
    /// feed-forward network of its RMSNorm: hidden += [norm](W_down · (act(W_gate·x) ⊙ W_up·x)).
    public func completeLayer(layer: Int, attentionOutput: [Float], hidden: inout [Float], tokenCount n: Int) {
        let w = weights.layers[layer]
        let e = config.embeddingLength, f = config.feedForwardLength
        addSublayer(w.attentionOutput, input: attentionOutput, postNorm: w.postAttentionNorm, to: &hidden, tokenCount: n)
        var normed = hidden
        Self.normalize(&normed, weight: w.feedForwardNorm, rows: n, width: e, epsilon: config.rmsNormEpsilon)
        var gateUp = [Float](overwrittenCount: n * 2 * f)
        normed.withUnsafeBufferPointer { x in
            gateUp.withUnsafeMutableBufferPointer { y in w.gateUp.apply(x.baseAddress!, rows: n, into: y.baseAddress!, activations: activations) }
        }
        var activated = [Float](overwrittenCount: n * f)
        let activation = config.feedForwardActivation
        gateUp.withUnsafeBufferPointer { gu in
            activated.withUnsafeMutableBufferPointer { a in
                for t in 0..<n {
                    let g = gu.baseAddress! + t * 2 * f, u = g + f
                    let out = a.baseAddress! + t * f
                    switch activation {
                    case .swiGLU: SwiGLU.apply(gate: g, up: u, count: f, output: out)
                    case .geGLU: GeGLU.apply(gate: g, up: u, count: f, output: out)
                    }
                }
            }
        }
        addSublayer(w.down, input: activated, postNorm: w.postFeedForwardNorm, to: &hidden, tokenCount: n)
    }

    /// hidden += W·input, or hidden += RMSNorm(W·input) ⊙ postNorm when `postNorm` is given.
    private func addSublayer(_ weight: LinearWeight, input: [Float], postNorm: [Float]?, to hidden: inout [Float], tokenCount n: Int) {
        guard let postNorm else {
            input.withUnsafeBufferPointer { a in
                hidden.withUnsafeMutableBufferPointer { h in
                    weight.apply(a.baseAddress!, rows: n, into: h.baseAddress!, accumulate: true, activations: activations)
                }
            }
            return
        }
        var out = [Float](overwrittenCount: n * config.embeddingLength)
        input.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { o in weight.apply(a.baseAddress!, rows: n, into: o.baseAddress!, activations: activations) }
        }
        Self.normalize(&out, weight: postNorm, rows: n, width: config.embeddingLength, epsilon: config.rmsNormEpsilon)
        out.withUnsafeBufferPointer { o in
            hidden.withUnsafeMutableBufferPointer { h in cblas_saxpy(Int32(h.count), 1, o.baseAddress!, 1, h.baseAddress!, 1) }
        }
    }

    /// RMSNorm of `rows` rows of `width` floats in place.
    private static func normalize(_ x: inout [Float], weight: [Float], rows: Int, width: Int, epsilon: Float) {
        x.withUnsafeMutableBufferPointer { xb in
            weight.withUnsafeBufferPointer { wb in
                RMSNorm.apply(xb.baseAddress!, weight: wb.baseAddress!, epsilon: epsilon, rows: rows, width: width, output: xb.baseAddress!)
            }
        }
    }

    /// The final RMSNorm and output projection for the token rows `rows` of `hidden`
    /// (`rows.count × vocabularySize` floats).
    public func logits(hidden: [Float], rows: Range<Int>) -> [Float] {
        let e = config.embeddingLength
        var normed = [Float](repeating: 0, count: rows.count * e)
        var out = [Float](repeating: 0, count: rows.count * config.vocabularySize)
        hidden.withUnsafeBufferPointer { x in
            weights.outputNorm.withUnsafeBufferPointer { nw in
                normed.withUnsafeMutableBufferPointer { y in
                    RMSNorm.apply(x.baseAddress! + rows.lowerBound * e, weight: nw.baseAddress!, epsilon: config.rmsNormEpsilon,
                                  rows: rows.count, width: e, output: y.baseAddress!)
                }
            }
        }
        normed.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in weights.output.apply(x.baseAddress!, rows: rows.count, into: y.baseAddress!, activations: activations) }
        }
        return out
    }
}

extension Array where Element == Float {
    /// `count` floats left as the allocator returns them, for buffers the next step overwrites in
    /// full (a GEMM without accumulation, a copy): zero-filling the forward pass's activation
    /// buffers cost ≈ 3 % of a prefill.
    init(overwrittenCount count: Int) {
        self.init(unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

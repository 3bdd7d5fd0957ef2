extension ModelConfig {
    /// The RoPE base of Gemma 3's sliding-window layers (not in its metadata; llama.cpp and the
    /// reference implementation fix it at 10 000).
    public static let gemma3LocalRopeFrequencyBase: Float = 10_000
    /// Gemma 3's layer pattern: every `gemma3GlobalLayerPeriod`-th layer (5, 11, 17, …) attends
    /// globally, the others within the sliding window.
    public static let gemma3GlobalLayerPeriod = 6

    /// Reads the configuration of a `llama` or `gemma3` GGUF file from its `<architecture>.*`
    /// metadata.
    ///
    /// Required: `block_count`, `embedding_length`, `feed_forward_length`,
    /// `attention.head_count`, `attention.layer_norm_rms_epsilon`, and for `gemma3`
    /// `attention.sliding_window`. Optional, with defaults: `attention.head_count_kv`
    /// (= head_count), `attention.key_length` (= embedding / heads; must equal
    /// `attention.value_length`), `rope.dimension_count` (= head dimension), `rope.freq_base`
    /// (10 000), `context_length` (2048), `vocab_size` (rows of `token_embd.weight`).
    public init(gguf file: GGUFFile) throws(ModelError) {
        guard let name = file.metadata["general.architecture"]?.string else { throw .missingMetadata(key: "general.architecture") }
        guard let architecture = Architecture(rawValue: name) else { throw .unsupportedArchitecture(name) }
        let prefix = name + "."
        func int(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
            guard let entry = file.metadata[prefix + key] else {
                if let value { return value }
                throw .missingMetadata(key: prefix + key)
            }
            guard let v = entry.int else { throw .missingMetadata(key: prefix + key) }
            return v
        }
        func float(_ key: String, default value: Float? = nil) throws(ModelError) -> Float {
            guard let entry = file.metadata[prefix + key] else {
                if let value { return value }
                throw .missingMetadata(key: prefix + key)
            }
            guard let v = entry.float else { throw .missingMetadata(key: prefix + key) }
            return v
        }
        let heads = try int("attention.head_count")
        let embedding = try int("embedding_length")
        let layerCount = try int("block_count")
        var vocab = file.metadata[prefix + "vocab_size"]?.int
        if vocab == nil, let emb = file.tensors["token_embd.weight"], emb.dimensions.count == 2 { vocab = emb.dimensions[1] }
        guard let vocab else { throw .missingMetadata(key: prefix + "vocab_size") }
        let defaultHead = heads > 0 && embedding % heads == 0 ? embedding / heads : nil
        let keyLength = file.metadata[prefix + "attention.key_length"] == nil ? defaultHead : try int("attention.key_length")
        if let keyLength, let valueLength = file.metadata[prefix + "attention.value_length"]?.int, valueLength != keyLength {
            throw .invalidMetadata(key: prefix + "attention.value_length", reason: "\(valueLength) differs from the key length \(keyLength)")
        }
        let ropeDimension: Int? = if let keyLength { try int("rope.dimension_count", default: keyLength) } else { nil }
        var layerAttention: [LayerAttention]? = nil
        var localBase: Float? = nil
        if architecture == .gemma3 {
            let window = try int("attention.sliding_window")
            layerAttention = (0..<max(0, layerCount)).map {
                ($0 + 1) % Self.gemma3GlobalLayerPeriod == 0 ? .global : .sliding(window: window)
            }
            localBase = Self.gemma3LocalRopeFrequencyBase
        }
        try self.init(
            architecture: architecture,
            vocabularySize: vocab,
            layerCount: layerCount,
            embeddingLength: embedding,
            feedForwardLength: try int("feed_forward_length"),
            headCount: heads,
            kvHeadCount: try int("attention.head_count_kv", default: heads),
            headDimension: keyLength,
            ropeDimension: ropeDimension,
            ropeFrequencyBase: try float("rope.freq_base", default: 10_000),
            localRopeFrequencyBase: localBase,
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon"),
            contextLength: try int("context_length", default: 2048),
            layerAttention: layerAttention
        )
    }
}

extension ModelWeights {
    /// Loads a `llama` or `gemma3` GGUF file. Matrices in a format ``QuantizedMatrix`` multiplies
    /// are kept as views into the mapped file (single-token decoding reads them directly). With
    /// `keepFloat32` (default false) they are also dequantised to Float32 once, for batched
    /// prefill (≈ 4 bytes per weight, ≈ 540 MB for SmolLM2-135M); without it, batched products
    /// dequantise slices on demand (``LinearWeight/init(quantized:)``) and the token embeddings
    /// stay in block format. Other tensor types are dequantised to Float32; matrices stacked for
    /// one product (Q/K/V, gate/up) are kept on demand only when all of them can be.
    ///
    /// Tensors: `token_embd.weight`, `output_norm.weight`, optional `output.weight` (else the
    /// embedding is tied), and per block `blk.N.{attn_norm, attn_q, attn_k, attn_v,
    /// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}.weight`; `gemma3` adds
    /// `attn_q_norm`, `attn_k_norm`, `post_attention_norm` and `post_ffw_norm`.
    public init(gguf file: GGUFFile, keepFloat32: Bool = false) throws(ModelError) {
        let config = try ModelConfig(gguf: file)
        let e = config.embeddingLength, f = config.feedForwardLength, kv = config.kvWidth, vocab = config.vocabularySize
        let qw = config.queryWidth, d = config.headDimension

        func info(_ name: String, _ dims: [Int]) throws(ModelError) -> GGUFTensorInfo {
            guard let t = file.tensors[name] else { throw .missingTensor(name: name) }
            // Trailing dimensions of 1 are allowed (GGUF stores vectors as [n] or [n, 1]).
            var found = t.dimensions
            while found.count > dims.count && found.last == 1 { found.removeLast() }
            guard found == dims else { throw .tensorShapeMismatch(name: name, expected: dims, found: t.dimensions) }
            return t
        }
        func floats(_ t: GGUFTensorInfo) throws(ModelError) -> [Float] {
            do throws(GGUFError) {
                return try file.dequantize(t)
            } catch {
                if case .unsupportedDequantization(let type) = error { throw .unsupportedTensorType(name: t.name, type: "\(type)") }
                throw .tensorLoadFailed(name: t.name, reason: error.description)
            }
        }
        func vector(_ name: String, _ count: Int = e) throws(ModelError) -> [Float] { try floats(try info(name, [count])) }
        /// The block format a tensor can be multiplied in without dequantising, if any.
        func format(_ t: GGUFTensorInfo, columns: Int) -> QuantizedFormat? {
            t.type == .f32 ? .f32 : QuantizedFormat(ggmlType: t.type, columns: columns)
        }
        func rows(_ t: GGUFTensorInfo, _ format: QuantizedFormat, rows: Int, columns: Int) throws(ModelError) -> QuantizedMatrix {
            let bytes = file.data(of: t)
            guard bytes.count >= rows * format.rowBytes(columns: columns) else {
                throw .tensorLoadFailed(name: t.name, reason: "\(bytes.count) bytes for \(rows)×\(columns) \(t.type)")
            }
            return QuantizedMatrix(segments: [QuantizedRows(base: bytes.baseAddress!, format: format, rows: rows, columns: columns)], owner: file)
        }
        /// The matrices `parts` (name, rows), stacked, all with `columns` columns.
        func matrix(_ parts: [(String, Int)], columns: Int) throws(ModelError) -> LinearWeight {
            var tensors = [GGUFTensorInfo]()
            for (name, r) in parts { tensors.append(try info(name, [columns, r])) }
            let formats = tensors.map { format($0, columns: columns) }
            if !keepFloat32, formats.allSatisfy({ $0 != nil && $0 != .f32 }) {
                var stacked = [LinearWeight]()
                for (i, t) in tensors.enumerated() {
                    stacked.append(LinearWeight(quantized: try rows(t, formats[i]!, rows: parts[i].1, columns: columns)))
                }
                return .stacking(stacked)
            }
            var stacked = [LinearWeight]()
            for (i, t) in tensors.enumerated() {
                let values = try floats(t)
                let quantized = try formats[i].map { (fmt) throws(ModelError) in try rows(t, fmt, rows: parts[i].1, columns: columns) }
                stacked.append(LinearWeight(outputCount: parts[i].1, inputCount: columns, values: values,
                                            quantized: formats.allSatisfy({ $0 != nil }) ? quantized : nil))
            }
            return .stacking(stacked)
        }

        let embedding = try matrix([("token_embd.weight", vocab)], columns: e)
        let gemma = config.architecture == .gemma3
        var layers = [LayerWeights]()
        for l in 0..<config.layerCount {
            let p = "blk.\(l)."
            layers.append(LayerWeights(
                config: config,
                attentionNorm: try vector(p + "attn_norm.weight"),
                qkv: try matrix([(p + "attn_q.weight", qw), (p + "attn_k.weight", kv), (p + "attn_v.weight", kv)], columns: e),
                attentionOutput: try matrix([(p + "attn_output.weight", e)], columns: qw),
                feedForwardNorm: try vector(p + "ffn_norm.weight"),
                gateUp: try matrix([(p + "ffn_gate.weight", f), (p + "ffn_up.weight", f)], columns: e),
                down: try matrix([(p + "ffn_down.weight", e)], columns: f),
                queryNorm: gemma ? try vector(p + "attn_q_norm.weight", d) : nil,
                keyNorm: gemma ? try vector(p + "attn_k_norm.weight", d) : nil,
                postAttentionNorm: gemma ? try vector(p + "post_attention_norm.weight") : nil,
                postFeedForwardNorm: gemma ? try vector(p + "post_ffw_norm.weight") : nil))
        }
        let output = file.tensors["output.weight"] != nil ? try matrix([("output.weight", vocab)], columns: e) : embedding
        if embedding.dequantizesOnDemand {
            self.init(config: config, tokenEmbeddingRows: embedding.quantized!, layers: layers,
                      outputNorm: try vector("output_norm.weight"), output: output)
        } else {
            self.init(config: config, tokenEmbedding: embedding.values, layers: layers,
                      outputNorm: try vector("output_norm.weight"), output: output)
        }
    }
}

extension DecoderModel {
    /// Loads a `llama` or `gemma3` GGUF model (see ``ModelWeights/init(gguf:keepFloat32:)`` and
    /// ``DecoderModel/init(weights:prefillChunk:activations:)``).
    public convenience init(
        gguf file: GGUFFile, prefillChunk: Int = 512, keepFloat32: Bool = false, activations: ActivationPrecision = .int8
    ) throws(ModelError) {
        self.init(weights: try ModelWeights(gguf: file, keepFloat32: keepFloat32), prefillChunk: prefillChunk, activations: activations)
    }

    /// Opens and loads the GGUF model at `path` (see ``init(gguf:prefillChunk:keepFloat32:activations:)``).
    public convenience init(
        path: String, prefillChunk: Int = 512, keepFloat32: Bool = false, activations: ActivationPrecision = .int8
    ) throws(ModelError) {
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(path: path) } catch { throw .fileUnreadable(path: path, reason: error.description) }
        try self.init(gguf: file, prefillChunk: prefillChunk, keepFloat32: keepFloat32, activations: activations)
    }
}

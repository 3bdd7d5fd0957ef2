extension ModelConfig {
    /// Reads the configuration of a `llama` GGUF file from its `llama.*` metadata.
    ///
    /// Required: `block_count`, `embedding_length`, `feed_forward_length`,
    /// `attention.head_count`, `attention.layer_norm_rms_epsilon`. Optional, with defaults:
    /// `attention.head_count_kv` (= head_count), `rope.dimension_count` (= head dimension),
    /// `rope.freq_base` (10 000), `context_length` (2048), `vocab_size` (rows of `token_embd.weight`).
    public init(gguf file: GGUFFile) throws(ModelError) {
        guard let arch = file.metadata["general.architecture"]?.string else { throw .missingMetadata(key: "general.architecture") }
        guard arch == "llama" else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
            guard let entry = file.metadata["llama." + key] else {
                if let value { return value }
                throw .missingMetadata(key: "llama." + key)
            }
            guard let v = entry.int else { throw .missingMetadata(key: "llama." + key) }
            return v
        }
        func float(_ key: String, default value: Float? = nil) throws(ModelError) -> Float {
            guard let entry = file.metadata["llama." + key] else {
                if let value { return value }
                throw .missingMetadata(key: "llama." + key)
            }
            guard let v = entry.float else { throw .missingMetadata(key: "llama." + key) }
            return v
        }
        let heads = try int("attention.head_count")
        let embedding = try int("embedding_length")
        var vocab = file.metadata["llama.vocab_size"]?.int
        if vocab == nil, let emb = file.tensors["token_embd.weight"], emb.dimensions.count == 2 { vocab = emb.dimensions[1] }
        guard let vocab else { throw .missingMetadata(key: "llama.vocab_size") }
        try self.init(
            vocabularySize: vocab,
            layerCount: try int("block_count"),
            embeddingLength: embedding,
            feedForwardLength: try int("feed_forward_length"),
            headCount: heads,
            kvHeadCount: try int("attention.head_count_kv", default: heads),
            ropeDimension: heads > 0 && embedding % heads == 0 ? try int("rope.dimension_count", default: embedding / heads) : nil,
            ropeFrequencyBase: try float("rope.freq_base", default: 10_000),
            rmsNormEpsilon: try float("attention.layer_norm_rms_epsilon"),
            contextLength: try int("context_length", default: 2048)
        )
    }
}

extension ModelWeights {
    /// Loads a `llama` GGUF file. Q4_1, Q8_0 and F32 matrices are kept as ``QuantizedMatrix``
    /// views into the mapped file (single-token decoding reads them directly). With
    /// `keepFloat32` (default false) they are also dequantised to Float32 once, for batched
    /// prefill (≈ 4 bytes per weight, ≈ 540 MB for SmolLM2-135M); without it, batched products
    /// dequantise slices on demand (``LinearWeight/init(quantized:)``) and the token embeddings
    /// stay in block format. Other tensor types are always dequantised to Float32.
    ///
    /// Tensors: `token_embd.weight`, `output_norm.weight`, optional `output.weight` (else the
    /// embedding is tied), and per block `blk.N.{attn_norm, attn_q, attn_k, attn_v,
    /// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}.weight`.
    public init(gguf file: GGUFFile, keepFloat32: Bool = false) throws(ModelError) {
        let config = try ModelConfig(gguf: file)
        let e = config.embeddingLength, f = config.feedForwardLength, kv = config.kvWidth, vocab = config.vocabularySize

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
        func vector(_ name: String) throws(ModelError) -> [Float] { try floats(try info(name, [e])) }
        func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> LinearWeight {
            let t = try info(name, [columns, rows])
            if !keepFloat32, t.type == .q4_1 || t.type == .q8_0, columns % 32 == 0 {
                let bytes = file.data(of: t)
                let format: QuantizedFormat = t.type == .q4_1 ? .q4_1 : .q8_0
                guard bytes.count >= rows * format.rowBytes(columns: columns) else {
                    throw .tensorLoadFailed(name: name, reason: "\(bytes.count) bytes for \(rows)×\(columns) \(t.type)")
                }
                return LinearWeight(quantized: QuantizedMatrix(
                    segments: [QuantizedRows(base: bytes.baseAddress!, format: format, rows: rows, columns: columns)], owner: file))
            }
            let values = try floats(t)
            var quantized: QuantizedMatrix?
            let format: QuantizedFormat? = switch t.type {
            case .q4_1: .q4_1
            case .q8_0: .q8_0
            case .f32: .f32
            default: nil
            }
            if let format {
                let bytes = file.data(of: t)
                precondition(bytes.count >= rows * format.rowBytes(columns: columns))
                quantized = QuantizedMatrix(segments: [QuantizedRows(base: bytes.baseAddress!, format: format, rows: rows, columns: columns)], owner: file)
            }
            return LinearWeight(outputCount: rows, inputCount: columns, values: values, quantized: quantized)
        }

        let embedding = try matrix("token_embd.weight", rows: vocab, columns: e)
        var layers = [LayerWeights]()
        for l in 0..<config.layerCount {
            let p = "blk.\(l)."
            let q = try matrix(p + "attn_q.weight", rows: e, columns: e)
            let k = try matrix(p + "attn_k.weight", rows: kv, columns: e)
            let v = try matrix(p + "attn_v.weight", rows: kv, columns: e)
            let gate = try matrix(p + "ffn_gate.weight", rows: f, columns: e)
            let up = try matrix(p + "ffn_up.weight", rows: f, columns: e)
            layers.append(LayerWeights(
                config: config,
                attentionNorm: try vector(p + "attn_norm.weight"),
                qkv: .stacking([q, k, v]),
                attentionOutput: try matrix(p + "attn_output.weight", rows: e, columns: e),
                feedForwardNorm: try vector(p + "ffn_norm.weight"),
                gateUp: .stacking([gate, up]),
                down: try matrix(p + "ffn_down.weight", rows: e, columns: f)))
        }
        let output = file.tensors["output.weight"] != nil ? try matrix("output.weight", rows: vocab, columns: e) : embedding
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
    /// Loads a `llama` GGUF model (see ``ModelWeights/init(gguf:keepFloat32:)`` and
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

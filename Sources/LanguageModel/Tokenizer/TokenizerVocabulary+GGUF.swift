/// Reading a vocabulary from a GGUF file's `tokenizer.*` metadata.
extension TokenizerVocabulary {
    /// GGUF metadata keys read by ``init(metadata:)``.
    public enum MetadataKey {
        /// Tokenizer model (``TokenizerVocabulary/Model``): `"gpt2"` or `"llama"`. Required.
        public static let model = "tokenizer.ggml.model"
        /// Pre-tokenizer name (``PreTokenizer``). Required for `gpt2`; `"default"` when absent
        /// for `llama`.
        public static let preTokenizer = "tokenizer.ggml.pre"
        /// Token texts (array of strings). Required.
        public static let tokens = "tokenizer.ggml.tokens"
        /// Token types (array of integers, ``TokenType`` raw values). Required.
        public static let tokenTypes = "tokenizer.ggml.token_type"
        /// Merge rules (array of strings). Required for `gpt2`, not read for `llama`.
        public static let merges = "tokenizer.ggml.merges"
        /// Token scores (array of floats). Optional (all 0 when absent); used by `llama`.
        public static let scores = "tokenizer.ggml.scores"
        /// Optional boolean: `▁` before the text (`llama` only). Default `true` for `llama`, as
        /// in llama.cpp.
        public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
        /// Optional special token ids (integers).
        public static let bos = "tokenizer.ggml.bos_token_id"
        public static let eos = "tokenizer.ggml.eos_token_id"
        public static let eot = "tokenizer.ggml.eot_token_id"
        public static let unknown = "tokenizer.ggml.unknown_token_id"
        public static let padding = "tokenizer.ggml.padding_token_id"
        /// Optional boolean; default `false` for `gpt2`, `true` for `llama` (as in llama.cpp).
        public static let addBOS = "tokenizer.ggml.add_bos_token"
        /// Optional Jinja chat template (string).
        public static let chatTemplate = "tokenizer.chat_template"
    }

    /// Reads the vocabulary from GGUF metadata (the keys of ``MetadataKey``). For `llama`, absent
    /// special ids take llama.cpp's SentencePiece defaults (BOS 1, EOS 2, unknown 0, when in range).
    ///
    /// - Throws: ``TokenizerError/missingMetadata(key:)`` for an absent required key,
    ///   ``TokenizerError/wrongMetadataType(key:expected:)`` for a value of the wrong type,
    ///   ``TokenizerError/unsupportedModel(_:)`` when the model is neither `gpt2` nor `llama`, and
    ///   ``TokenizerError/specialTokenIDOutOfRange(name:id:)`` for an id that is not an `Int32`.
    ///   Consistency (merges, types, ids in range) is checked by ``Tokenizer/init(vocabulary:)``.
    public init(metadata: [String: GGUFValue]) throws(TokenizerError) {
        func required(_ key: String) throws(TokenizerError) -> GGUFValue {
            guard let value = metadata[key] else { throw .missingMetadata(key: key) }
            return value
        }
        func string(_ key: String) throws(TokenizerError) -> String {
            guard let value = try required(key).string else { throw .wrongMetadataType(key: key, expected: "a string") }
            return value
        }
        func strings(_ key: String) throws(TokenizerError) -> [String] {
            guard let value = try required(key).stringArray else {
                throw .wrongMetadataType(key: key, expected: "an array of strings")
            }
            return value
        }
        func optionalID(_ key: String, _ name: String) throws(TokenizerError) -> Int32? {
            guard let value = metadata[key] else { return nil }
            guard let id = value.int else { throw .wrongMetadataType(key: key, expected: "an integer") }
            guard let narrow = Int32(exactly: id) else { throw .specialTokenIDOutOfRange(name: name, id: Int64(id)) }
            return narrow
        }

        func flag(_ key: String, default value: Bool) throws(TokenizerError) -> Bool {
            guard let stored = metadata[key] else { return value }
            guard let flag = stored.bool else { throw .wrongMetadataType(key: key, expected: "a bool") }
            return flag
        }

        let modelName = try string(MetadataKey.model)
        guard let model = Model(rawValue: modelName) else { throw .unsupportedModel(modelName) }
        let sentencePiece = model == .sentencePiece
        let preTokenizer = sentencePiece && metadata[MetadataKey.preTokenizer] == nil
            ? PreTokenizer.default.rawValue : try string(MetadataKey.preTokenizer)
        let tokens = try strings(MetadataKey.tokens)
        guard let typeValues = try required(MetadataKey.tokenTypes).intArray else {
            throw .wrongMetadataType(key: MetadataKey.tokenTypes, expected: "an array of integers")
        }
        var tokenTypes: [Int32] = []
        tokenTypes.reserveCapacity(typeValues.count)
        for (index, value) in typeValues.enumerated() {
            guard let narrow = Int32(exactly: value) else {
                throw .invalidTokenType(index: index, value: value < 0 ? Int32.min : Int32.max)
            }
            tokenTypes.append(narrow)
        }
        let merges = sentencePiece ? [] : try strings(MetadataKey.merges)
        var scores: [Float] = []
        if let value = metadata[MetadataKey.scores] {
            guard let numbers = value.floatArray else {
                throw .wrongMetadataType(key: MetadataKey.scores, expected: "an array of numbers")
            }
            scores = numbers
        }
        let addBOS = try flag(MetadataKey.addBOS, default: sentencePiece)
        let addSpacePrefix = sentencePiece ? try flag(MetadataKey.addSpacePrefix, default: true) : false
        var chatTemplate: String?
        if let value = metadata[MetadataKey.chatTemplate] {
            guard let text = value.string else {
                throw .wrongMetadataType(key: MetadataKey.chatTemplate, expected: "a string")
            }
            chatTemplate = text
        }
        func sentencePieceDefault(_ id: Int32) -> Int32? {
            sentencePiece && Int(id) < tokens.count ? id : nil
        }
        self.init(
            model: model, tokens: tokens, tokenTypes: tokenTypes, scores: scores, merges: merges,
            preTokenizer: preTokenizer,
            bos: try optionalID(MetadataKey.bos, "BOS") ?? sentencePieceDefault(1),
            eos: try optionalID(MetadataKey.eos, "EOS") ?? sentencePieceDefault(2),
            eot: try optionalID(MetadataKey.eot, "EOT"),
            unknown: try optionalID(MetadataKey.unknown, "unknown") ?? sentencePieceDefault(0),
            padding: try optionalID(MetadataKey.padding, "padding"), addBOS: addBOS,
            addSpacePrefix: addSpacePrefix, chatTemplate: chatTemplate)
    }
}

extension Tokenizer {
    /// Builds the tokenizer of a GGUF model file from its `tokenizer.*` metadata.
    ///
    /// - Throws: the errors of ``TokenizerVocabulary/init(metadata:)`` and ``init(vocabulary:)``.
    public init(gguf: GGUFFile) throws(TokenizerError) {
        try self.init(vocabulary: TokenizerVocabulary(metadata: gguf.metadata))
    }

    /// The chat template described by the model's `tokenizer.chat_template`.
    ///
    /// - Throws: ``TokenizerError/missingMetadata(key:)`` if the model has no template,
    ///   ``TokenizerError/unsupportedChatTemplate(_:)`` if it is not one ``ChatTemplate`` renders.
    public func chatTemplate() throws(TokenizerError) -> ChatTemplate {
        guard let chatTemplateText else { throw .missingMetadata(key: TokenizerVocabulary.MetadataKey.chatTemplate) }
        return try ChatTemplate(jinja: chatTemplateText)
    }
}

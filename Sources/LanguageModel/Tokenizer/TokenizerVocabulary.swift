/// The raw description of a tokenizer vocabulary, as a GGUF file stores it under the
/// `tokenizer.ggml.*` keys: GPT-2 style byte-level BPE (SmolLM2) or SentencePiece-style
/// (Gemma 3). A ``Tokenizer`` validates it and builds its tables from it.
///
/// Invariants checked by ``Tokenizer/init(vocabulary:)`` (not by this plain value type):
/// `tokenTypes.count == tokens.count`; `scores` is empty or has one entry per token; for BPE every
/// merge is `"<left> <right>"` with both parts and their concatenation in `tokens`; special ids
/// lie in `0..<tokens.count`.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// The tokenizer model (`tokenizer.ggml.model`), with GGUF's names as raw values.
    public enum Model: String, Sendable, CaseIterable {
        /// GPT-2 style byte-level BPE (`gpt2`): normal token texts are byte-encoded, words from a
        /// ``PreTokenizer`` are merged by ranked merge rules.
        case bytePairEncoding = "gpt2"
        /// SentencePiece style (`llama`): spaces are `▁` (U+2581), the whole text between
        /// special tokens is merged by token score, and characters without a token fall back to
        /// the byte tokens `<0xXX>` (``SentencePieceMerger``).
        case sentencePiece = "llama"
    }

    /// The tokenizer model. Default ``Model/bytePairEncoding``.
    public var model: Model
    /// Token texts, indexed by token id. For BPE, normal tokens are GPT-2 byte-encoded (a space
    /// is `Ġ`); for SentencePiece, a space in a normal token is `▁` and byte tokens are `<0xXX>`.
    /// Control and user-defined tokens are stored raw (`<|im_start|>`, `<start_of_turn>`).
    public var tokens: [String]
    /// One ``TokenType`` raw value per token (`tokenizer.ggml.token_type`).
    public var tokenTypes: [Int32]
    /// Score of each token (`tokenizer.ggml.scores`): SentencePiece merges the pair whose token
    /// scores highest first. Empty means 0 for every token; BPE ignores it.
    public var scores: [Float]
    /// BPE merge rules in priority order (index = rank; lower merges first), each
    /// `"<left> <right>"` in byte-encoded form (`tokenizer.ggml.merges`).
    public var merges: [String]
    /// Pre-tokenizer name (`tokenizer.ggml.pre`): `"smollm"` or `"gpt-2"` for BPE, `"default"` for
    /// SentencePiece.
    public var preTokenizer: String
    /// Beginning-of-sequence token id (`tokenizer.ggml.bos_token_id`), if any.
    public var bos: Int32?
    /// End-of-sequence token id (`tokenizer.ggml.eos_token_id`), if any.
    public var eos: Int32?
    /// End-of-turn token id (`tokenizer.ggml.eot_token_id`), if any.
    public var eot: Int32?
    /// Unknown token id (`tokenizer.ggml.unknown_token_id`), if any.
    public var unknown: Int32?
    /// Padding token id (`tokenizer.ggml.padding_token_id`), if any.
    public var padding: Int32?
    /// Whether the model expects BOS at the start of a sequence (`tokenizer.ggml.add_bos_token`).
    /// Default `false`.
    public var addBOS: Bool
    /// SentencePiece only: put `▁` before text that opens the input or follows a special token
    /// (`tokenizer.ggml.add_space_prefix`; `false` for Gemma 3). Default `false`.
    public var addSpacePrefix: Bool
    /// The model's Jinja chat template (`tokenizer.chat_template`), if the file has one.
    public var chatTemplate: String?

    /// Creates a vocabulary description. Nothing is validated until a ``Tokenizer`` is built.
    public init(
        model: Model = .bytePairEncoding,
        tokens: [String],
        tokenTypes: [Int32],
        scores: [Float] = [],
        merges: [String] = [],
        preTokenizer: String = "smollm",
        bos: Int32? = nil,
        eos: Int32? = nil,
        eot: Int32? = nil,
        unknown: Int32? = nil,
        padding: Int32? = nil,
        addBOS: Bool = false,
        addSpacePrefix: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.model = model
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.bos = bos
        self.eos = eos
        self.eot = eot
        self.unknown = unknown
        self.padding = padding
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }
}

/// The raw description of a GPT-2 style byte-level BPE vocabulary, as a GGUF file stores it
/// under the `tokenizer.ggml.*` keys. A ``Tokenizer`` validates it and builds its tables from it.
///
/// Invariants checked by ``Tokenizer/init(vocabulary:)`` (not by this plain value type):
/// `tokenTypes.count == tokens.count`; every merge is `"<left> <right>"` with both parts and their
/// concatenation in `tokens`; special ids lie in `0..<tokens.count`.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// Token texts, indexed by token id. Normal tokens are GPT-2 byte-encoded (a space is `Ġ`);
    /// control and user-defined tokens are stored raw (`<|im_start|>`).
    public var tokens: [String]
    /// One ``TokenType`` raw value per token (`tokenizer.ggml.token_type`).
    public var tokenTypes: [Int32]
    /// BPE merge rules in priority order (index = rank; lower merges first), each
    /// `"<left> <right>"` in byte-encoded form (`tokenizer.ggml.merges`).
    public var merges: [String]
    /// Pre-tokenizer name (`tokenizer.ggml.pre`): `"smollm"` or `"gpt-2"`.
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
    /// The model's Jinja chat template (`tokenizer.chat_template`), if the file has one.
    public var chatTemplate: String?

    /// Creates a vocabulary description. Nothing is validated until a ``Tokenizer`` is built.
    public init(
        tokens: [String],
        tokenTypes: [Int32],
        merges: [String],
        preTokenizer: String = "smollm",
        bos: Int32? = nil,
        eos: Int32? = nil,
        eot: Int32? = nil,
        unknown: Int32? = nil,
        padding: Int32? = nil,
        addBOS: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.bos = bos
        self.eos = eos
        self.eot = eot
        self.unknown = unknown
        self.padding = padding
        self.addBOS = addBOS
        self.chatTemplate = chatTemplate
    }
}

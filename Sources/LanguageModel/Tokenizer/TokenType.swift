/// The type of a vocabulary entry, as stored in GGUF's `tokenizer.ggml.token_type` array.
///
/// Raw values are GGUF's (and llama.cpp's) numbering; they are part of the file format.
public enum TokenType: Int32, Sendable, Hashable, CaseIterable {
    /// Type not set. Such a token is never produced by encoding a text and decodes to nothing.
    case undefined = 0
    /// An ordinary BPE token whose text is GPT-2 byte-encoded.
    case normal = 1
    /// The unknown token. Parsed in text and rendered only when special tokens are enabled.
    case unknown = 2
    /// A control token such as `<|im_start|>`. Parsed in text and rendered only when special
    /// tokens are enabled.
    case control = 3
    /// A token added by the model's authors. Always parsed in text; its text is stored raw
    /// (not byte-encoded) and always rendered.
    case userDefined = 4
    /// A reserved, unused slot. Never produced; decodes to nothing.
    case unused = 5
    /// A byte-fallback token (SentencePiece vocabularies). Decodes to nothing in a BPE vocabulary.
    case byte = 6

    /// Whether the token is matched literally in input text before BPE, when `parseSpecial` is
    /// `true` (control and unknown tokens) or always (user-defined tokens).
    var isMatchedInText: Bool {
        self == .control || self == .userDefined || self == .unknown
    }
}

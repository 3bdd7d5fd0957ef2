/// Everything that can go wrong while building a ``Tokenizer`` from a vocabulary or GGUF metadata,
/// or while decoding token ids.
///
/// Each case has a stable numeric ``code`` (never reused, never renumbered) so that callers and
/// logs can identify the failure independently of its textual description.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required GGUF metadata key is absent (for example `tokenizer.ggml.tokens`).
    case missingMetadata(key: String)
    /// A GGUF metadata key is present but holds a value of the wrong type or shape.
    case wrongMetadataType(key: String, expected: String)
    /// `tokenizer.ggml.model` names a tokenizer model other than GPT-2 byte-level BPE (`gpt2`) and
    /// SentencePiece style (`llama`).
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this implementation does not provide.
    case unsupportedPreTokenizer(String)
    /// The vocabulary has no tokens.
    case emptyVocabulary
    /// The token-type array does not have one entry per token.
    case tokenTypeCountMismatch(tokens: Int, types: Int)
    /// A token-type value is not one of GGUF's token types (0…6).
    case invalidTokenType(index: Int, value: Int32)
    /// Two tokens have the same text, so text → id would be ambiguous.
    case duplicateToken(text: String, firstID: Int32, secondID: Int32)
    /// A normal token's text contains a character outside GPT-2's byte-to-Unicode alphabet.
    case tokenNotByteEncoded(id: Int32, text: String)
    /// A merge rule is not of the form `"<left> <right>"`.
    case malformedMerge(index: Int, text: String)
    /// A merge rule names a token that is not in the vocabulary (one of its two parts, or their
    /// concatenation, which a merge must produce).
    case mergeNamesUnknownToken(index: Int, token: String)
    /// A special-token id from the metadata (BOS, EOS, …) is outside `0..<tokenCount`.
    case specialTokenIDOutOfRange(name: String, id: Int64)
    /// A token id passed to decoding is outside `0..<tokenCount`.
    case tokenIDOutOfRange(id: Int32, tokenCount: Int)
    /// The model's chat template is not one this implementation can render.
    case unsupportedChatTemplate(String)
    /// A SentencePiece byte-fallback token's text is not `<0xXX>`.
    case malformedByteToken(id: Int32, text: String)
    /// The score array does not have one entry per token.
    case scoreCountMismatch(tokens: Int, scores: Int)

    /// Stable numeric code of the error (1-based; never reused).
    public var code: Int {
        switch self {
        case .missingMetadata: 1
        case .wrongMetadataType: 2
        case .unsupportedModel: 3
        case .unsupportedPreTokenizer: 4
        case .emptyVocabulary: 5
        case .tokenTypeCountMismatch: 6
        case .invalidTokenType: 7
        case .duplicateToken: 8
        case .tokenNotByteEncoded: 9
        case .malformedMerge: 10
        case .mergeNamesUnknownToken: 11
        case .specialTokenIDOutOfRange: 12
        case .tokenIDOutOfRange: 13
        case .unsupportedChatTemplate: 14
        case .malformedByteToken: 15
        case .scoreCountMismatch: 16
        }
    }

    public var description: String {
        switch self {
        case .missingMetadata(let key):
            "tokenizer error \(code): missing GGUF metadata key '\(key)'"
        case .wrongMetadataType(let key, let expected):
            "tokenizer error \(code): GGUF metadata key '\(key)' is not \(expected)"
        case .unsupportedModel(let model):
            "tokenizer error \(code): unsupported tokenizer model '\(model)' (supported: 'gpt2', 'llama')"
        case .unsupportedPreTokenizer(let pre):
            "tokenizer error \(code): unsupported pre-tokenizer '\(pre)'"
        case .emptyVocabulary:
            "tokenizer error \(code): the vocabulary has no tokens"
        case .tokenTypeCountMismatch(let tokens, let types):
            "tokenizer error \(code): \(tokens) tokens but \(types) token types"
        case .invalidTokenType(let index, let value):
            "tokenizer error \(code): token \(index) has invalid token type \(value)"
        case .duplicateToken(let text, let first, let second):
            "tokenizer error \(code): tokens \(first) and \(second) have the same text \(text.debugDescription)"
        case .tokenNotByteEncoded(let id, let text):
            "tokenizer error \(code): token \(id) \(text.debugDescription) is not GPT-2 byte-encoded"
        case .malformedMerge(let index, let text):
            "tokenizer error \(code): merge \(index) \(text.debugDescription) is not '<left> <right>'"
        case .mergeNamesUnknownToken(let index, let token):
            "tokenizer error \(code): merge \(index) names unknown token \(token.debugDescription)"
        case .specialTokenIDOutOfRange(let name, let id):
            "tokenizer error \(code): \(name) token id \(id) is outside the vocabulary"
        case .tokenIDOutOfRange(let id, let count):
            "tokenizer error \(code): token id \(id) is outside 0..<\(count)"
        case .unsupportedChatTemplate(let reason):
            "tokenizer error \(code): unsupported chat template: \(reason)"
        case .malformedByteToken(let id, let text):
            "tokenizer error \(code): byte token \(id) \(text.debugDescription) is not '<0xXX>'"
        case .scoreCountMismatch(let tokens, let scores):
            "tokenizer error \(code): \(tokens) tokens but \(scores) scores"
        }
    }
}

/// A model file opened for text generation: the forward pass, the tokenizer and the chat
/// template read from the same GGUF file.
public final class TextModel: Sendable {
    /// The forward pass.
    public let model: DecoderModel
    /// The tokenizer from the file's `tokenizer.ggml.*` metadata.
    public let tokenizer: Tokenizer
    /// The file's chat template (SmolLM2's ChatML when the file has none).
    public let chatTemplate: ChatTemplate

    /// Tokens that end generation (end-of-sequence and end-of-turn tokens).
    public var stopTokens: Set<Int32> { tokenizer.endOfGeneration }

    /// Opens the GGUF file at `path` and loads model and tokenizer; products with block-quantised
    /// weights take `activations` (see ``ActivationPrecision``).
    /// - Throws: ``ModelError`` (model file) or ``TokenizerError`` (tokenizer metadata).
    public init(path: String, prefillChunk: Int = 512, activations: ActivationPrecision = .int8) throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw ModelError.fileUnreadable(path: path, reason: error.description) }
        model = try DecoderModel(gguf: file, prefillChunk: prefillChunk, activations: activations)
        tokenizer = try Tokenizer(gguf: file)
        if let text = tokenizer.chatTemplateText {
            chatTemplate = try ChatTemplate(jinja: text)
        } else {
            chatTemplate = .smolLM2
        }
    }

    /// The token ids of `text`, used as given (special tokens are parsed, no BOS is added), or,
    /// with `chat`, of `text` as the user message of the chat template with its default system
    /// message and the assistant generation prompt.
    public func promptTokens(_ text: String, chat: Bool) -> [Int32] {
        tokenizer.encode(chat ? chatTemplate.renderPrompt(user: text) : text)
    }
}

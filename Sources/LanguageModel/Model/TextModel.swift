/// A model file opened for text generation: the forward pass, the tokenizer and the chat
/// template read from the same GGUF file.
public final class TextModel: Sendable {
    /// The forward pass.
    public let model: DecoderModel
    /// The tokenizer from the file's `tokenizer.ggml.*` metadata.
    public let tokenizer: Tokenizer
    /// The file's chat template; a `llama` file without one gets SmolLM2's ChatML (the
    /// convention of earlier releases), any other architecture none: a base model such as Gemma 3
    /// 270M is prompted with a completion layout instead (``promptTokens(_:chat:)``).
    public let chatTemplate: ChatTemplate?

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
            chatTemplate = model.config.architecture == .llama ? .smolLM2 : nil
        }
    }

    /// The chat template, or ``ModelError/noChatTemplate`` for a model without one.
    public func requireChatTemplate() throws(ModelError) -> ChatTemplate {
        guard let chatTemplate else { throw .noChatTemplate }
        return chatTemplate
    }

    /// The token ids of `text`, used as given (special tokens are parsed; BOS first when the
    /// file asks for it, `tokenizer.ggml.add_bos_token`), or, with `chat`, of `text` as the user
    /// message of the chat template with its default system message and the generation prompt.
    /// - Throws: ``ModelError/noChatTemplate`` for `chat` on a model without a template.
    public func promptTokens(_ text: String, chat: Bool) throws(ModelError) -> [Int32] {
        if chat { return tokenizer.encode(try requireChatTemplate().renderPrompt(user: text)) }
        return tokenizer.encode(text, addBOS: tokenizer.addBOSByDefault)
    }
}

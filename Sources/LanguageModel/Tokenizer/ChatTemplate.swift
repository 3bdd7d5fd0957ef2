/// The ChatML chat format of SmolLM2 (and other models using `<|im_start|>` / `<|im_end|>`),
/// rendering exactly what the model's Jinja template (`tokenizer.chat_template`) renders:
///
/// ```
/// <|im_start|>system\n{default system message}<|im_end|>\n     (only if the first message is not a system message)
/// <|im_start|>{role}\n{content}<|im_end|>\n                    (each message)
/// <|im_start|>assistant\n                                      (the generation prompt, if asked for)
/// ```
///
/// The result is text; encode it with ``Tokenizer/encode(_:parseSpecial:addBOS:)`` with
/// `parseSpecial: true` so the markers become their control tokens.
public struct ChatTemplate: Sendable, Equatable {
    /// The system message inserted before the first message when the conversation does not
    /// start with one; `nil` inserts nothing.
    public var defaultSystemMessage: String?

    /// SmolLM2-Instruct's template: default system message
    /// "You are a helpful AI assistant named SmolLM, trained by Hugging Face".
    public static let smolLM2 = ChatTemplate(
        defaultSystemMessage: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// Creates a ChatML template with the given default system message.
    public init(defaultSystemMessage: String?) {
        self.defaultSystemMessage = defaultSystemMessage
    }

    /// Recognises a model's Jinja chat template. Accepted: the SmolLM2 ChatML template with any
    /// default system message (the message is taken from the template), and the same template
    /// without the default-system clause.
    ///
    /// - Throws: ``TokenizerError/unsupportedChatTemplate(_:)`` for any other template text: it
    ///   would otherwise be rendered differently from the model's own template.
    public init(jinja template: String) throws(TokenizerError) {
        let head = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
        let emptyMessageLength = Self.jinja(defaultSystemMessage: "").count
        if template.hasPrefix(head), template.count > emptyMessageLength {
            let message = String(template.dropFirst(head.count).prefix(template.count - emptyMessageLength))
            if !message.contains("'"), template == Self.jinja(defaultSystemMessage: message) {
                self.init(defaultSystemMessage: message)
                return
            }
        }
        if template == Self.jinja(defaultSystemMessage: nil) {
            self.init(defaultSystemMessage: nil)
            return
        }
        throw .unsupportedChatTemplate("not a ChatML template of the SmolLM2 form (\(template.count) characters)")
    }

    /// The Jinja text of the template this value renders.
    public static func jinja(defaultSystemMessage: String?) -> String {
        var text = "{% for message in messages %}"
        if let defaultSystemMessage {
            text += "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
                + defaultSystemMessage + "<|im_end|>\n' }}{% endif %}"
        }
        text += "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        text += "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        return text
    }

    /// Renders a conversation.
    ///
    /// - Parameters:
    ///   - messages: the turns in order. The default system message is inserted only when there
    ///     is at least one message and the first is not a system message.
    ///   - addGenerationPrompt: append `<|im_start|>assistant\n` so the model answers next.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        if let defaultSystemMessage, let first = messages.first, first.role != "system" {
            text += "<|im_start|>system\n" + defaultSystemMessage + "<|im_end|>\n"
        }
        for message in messages {
            text += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n"
        }
        if addGenerationPrompt {
            text += "<|im_start|>assistant\n"
        }
        return text
    }

    /// The prompt for a single user message with the generation prompt appended — what the
    /// worker's `--chat` option feeds the model for its input text.
    public func renderPrompt(user text: String) -> String {
        render([.user(text)], addGenerationPrompt: true)
    }
}

/// A model's chat format, rendering exactly what the model's Jinja template
/// (`tokenizer.chat_template`) renders. Two formats are known (``Format``):
///
/// ChatML (SmolLM2, and other models using `<|im_start|>` / `<|im_end|>`):
/// ```
/// <|im_start|>system\n{default system message}<|im_end|>\n     (only if the first message is not a system message)
/// <|im_start|>{role}\n{content}<|im_end|>\n                    (each message)
/// <|im_start|>assistant\n                                      (the generation prompt, if asked for)
/// ```
///
/// Gemma 3 instruction-tuned (`google/gemma-3-*-it`):
/// ```
/// <bos>                                                          (always)
/// <start_of_turn>{role}\n{system}\n\n{content}<end_of_turn>\n    (the first turn after an optional system message)
/// <start_of_turn>{role}\n{content}<end_of_turn>\n                (each later message)
/// <start_of_turn>model\n                                         (the generation prompt, if asked for)
/// ```
/// where role `assistant` is written `model`, a leading system message is not a turn of its own
/// but its content (untrimmed) and a blank line open the first turn, and each turn's content is
/// trimmed of white space at both ends (Jinja's `trim`, Python's `str.strip()`).
///
/// The result is text; encode it with ``Tokenizer/encode(_:parseSpecial:addBOS:)`` with
/// `parseSpecial: true` and `addBOS: false` so the markers (and Gemma's `<bos>`) become their
/// control tokens.
public struct ChatTemplate: Sendable, Equatable {
    /// The chat formats this type renders.
    public enum Format: Sendable, Equatable {
        /// ChatML; the system message inserted before the first message when the conversation
        /// does not start with one (`nil` inserts nothing).
        case chatML(defaultSystemMessage: String?)
        /// Gemma 3 instruction-tuned.
        case gemma3
    }

    /// The format rendered.
    public var format: Format

    /// ChatML's default system message; `nil` for other formats.
    public var defaultSystemMessage: String? {
        if case .chatML(let message) = format { return message }
        return nil
    }

    /// SmolLM2-Instruct's template: ChatML with the default system message
    /// "You are a helpful AI assistant named SmolLM, trained by Hugging Face".
    public static let smolLM2 = ChatTemplate(
        defaultSystemMessage: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// Gemma 3 instruction-tuned's template.
    public static let gemma3 = ChatTemplate(format: .gemma3)

    /// Creates a template of the given format.
    public init(format: Format) {
        self.format = format
    }

    /// Creates a ChatML template with the given default system message.
    public init(defaultSystemMessage: String?) {
        self.format = .chatML(defaultSystemMessage: defaultSystemMessage)
    }

    /// Recognises a model's Jinja chat template. Accepted: the SmolLM2 ChatML template with any
    /// default system message (the message is taken from the template), the same template
    /// without the default-system clause, and Gemma 3's template (``gemma3Jinja``, also with its
    /// string literals' line breaks written as `\n` escapes, which Jinja reads the same).
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
        if template == Self.gemma3Jinja || template == Self.gemma3JinjaWithEscapes {
            self.init(format: .gemma3)
            return
        }
        throw .unsupportedChatTemplate("neither ChatML of the SmolLM2 form nor Gemma 3's (\(template.count) characters)")
    }

    /// The Jinja text of the ChatML template with this default system message.
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

    /// The Jinja text of Gemma 3 instruction-tuned's template, as the GGUF files of
    /// `google/gemma-3-*-it` carry it (`tokenizer.chat_template`; the `chat_template` of the
    /// model's `tokenizer_config.json`). Only its string-content path is rendered here; image
    /// items of list contents are outside ``ChatMessage``.
    public static let gemma3Jinja = """
        {{ bos_token }}
        {%- if messages[0]['role'] == 'system' -%}
            {%- if messages[0]['content'] is string -%}
                {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
            {%- else -%}
                {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
            {%- endif -%}
            {%- set loop_messages = messages[1:] -%}
        {%- else -%}
            {%- set first_user_prefix = "" -%}
            {%- set loop_messages = messages -%}
        {%- endif -%}
        {%- for message in loop_messages -%}
            {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
                {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
            {%- endif -%}
            {%- if (message['role'] == 'assistant') -%}
                {%- set role = "model" -%}
            {%- else -%}
                {%- set role = message['role'] -%}
            {%- endif -%}
            {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
            {%- if message['content'] is string -%}
                {{ message['content'] | trim }}
            {%- elif message['content'] is iterable -%}
                {%- for item in message['content'] -%}
                    {%- if item['type'] == 'image' -%}
                        {{ '<start_of_image>' }}
                    {%- elif item['type'] == 'text' -%}
                        {{ item['text'] | trim }}
                    {%- endif -%}
                {%- endfor -%}
            {%- else -%}
                {{ raise_exception("Invalid content type") }}
            {%- endif -%}
            {{ '<end_of_turn>\n' }}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
            {{'<start_of_turn>model\n'}}
        {%- endif -%}

        """

    /// ``gemma3Jinja`` with the line breaks inside its string literals written as `\n` escapes
    /// (as some copies of the template have them).
    static let gemma3JinjaWithEscapes = gemma3Jinja
        .replacingOccurrences(of: "'\n\n'", with: "'\\n\\n'")
        .replacingOccurrences(of: "'\n' +", with: "'\\n' +")
        .replacingOccurrences(of: "'<end_of_turn>\n'", with: "'<end_of_turn>\\n'")
        .replacingOccurrences(of: "'<start_of_turn>model\n'", with: "'<start_of_turn>model\\n'")

    /// Renders a conversation.
    ///
    /// - Parameters:
    ///   - messages: the turns in order. ChatML: the default system message is inserted only when
    ///     there is at least one message and the first is not a system message. Gemma 3: after an
    ///     optional system message the roles must alternate user, assistant, user, … (the model's
    ///     template raises an error otherwise, and also for no messages at all; this renders any
    ///     sequence turn by turn, and `<bos>` alone for none).
    ///   - addGenerationPrompt: append the turn opening for the model's answer
    ///     (`<|im_start|>assistant\n`, `<start_of_turn>model\n`).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        switch format {
        case .chatML(let defaultSystemMessage):
            if let defaultSystemMessage, let first = messages.first, first.role != "system" {
                text += "<|im_start|>system\n" + defaultSystemMessage + "<|im_end|>\n"
            }
            for message in messages {
                text += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n"
            }
            if addGenerationPrompt {
                text += "<|im_start|>assistant\n"
            }
        case .gemma3:
            text += "<bos>"
            var turns = messages[...]
            var firstPrefix = ""
            if let first = turns.first, first.role == "system" {
                firstPrefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (number, message) in turns.enumerated() {
                let role = message.role == "assistant" ? "model" : message.role
                text += "<start_of_turn>" + role + "\n" + (number == 0 ? firstPrefix : "")
                text += Self.trimmed(message.content) + "<end_of_turn>\n"
            }
            if addGenerationPrompt {
                text += "<start_of_turn>model\n"
            }
        }
        return text
    }

    /// The prompt for a single user message with the generation prompt appended — what the
    /// worker's `--chat` option feeds the model for its input text.
    public func renderPrompt(user text: String) -> String {
        render([.user(text)], addGenerationPrompt: true)
    }

    /// `text` without white space at either end, as Python's `str.strip()` (Jinja's `trim`)
    /// removes it: the Unicode White_Space characters and U+001C…U+001F.
    static func trimmed(_ text: String) -> String {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[first...last])
    }
}

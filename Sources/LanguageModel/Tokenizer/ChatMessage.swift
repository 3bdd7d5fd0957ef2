/// One turn of a conversation for a ``ChatTemplate``.
public struct ChatMessage: Sendable, Equatable {
    /// The speaker: `"system"`, `"user"`, `"assistant"` (any string is written as given).
    public var role: String
    /// The message text, inserted verbatim (special-token text in it is not escaped).
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

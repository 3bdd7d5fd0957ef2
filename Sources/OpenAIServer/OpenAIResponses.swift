import Foundation

/// `usage` of a response: prompt and completion tokens, and the prompt tokens served from kvd's
/// prompt cache (`prompt_tokens_details.cached_tokens`).
struct Usage: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int

    init(_ o: GenerationOutcome) {
        promptTokens = o.promptTokens; completionTokens = o.completionTokens; cachedTokens = o.cachedTokens
    }

    private enum Keys: String, CodingKey { case prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details }
    private enum DetailKeys: String, CodingKey { case cached_tokens }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(promptTokens, forKey: .prompt_tokens)
        try c.encode(completionTokens, forKey: .completion_tokens)
        try c.encode(promptTokens + completionTokens, forKey: .total_tokens)
        var d = c.nestedContainer(keyedBy: DetailKeys.self, forKey: .prompt_tokens_details)
        try d.encode(cachedTokens, forKey: .cached_tokens)
    }
}

/// One choice of a chat completion or chunk, or of a text completion.
struct Choice: Encodable, Sendable {
    enum Body: Sendable {
        /// `message` of a chat completion.
        case message(String)
        /// `delta` of a chat chunk: the role (first chunk) and/or content.
        case delta(role: String?, content: String?)
        /// `text` of a completion or completion chunk.
        case text(String)
    }
    var body: Body
    /// nil: `null` (a chunk before the last).
    var finishReason: String?

    private enum Keys: String, CodingKey { case index, message, delta, text, finish_reason, logprobs }
    private enum MessageKeys: String, CodingKey { case role, content }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(0, forKey: .index)
        switch body {
        case .message(let content):
            var m = c.nestedContainer(keyedBy: MessageKeys.self, forKey: .message)
            try m.encode("assistant", forKey: .role)
            try m.encode(content, forKey: .content)
        case .delta(let role, let content):
            var m = c.nestedContainer(keyedBy: MessageKeys.self, forKey: .delta)
            try m.encodeIfPresent(role, forKey: .role)
            try m.encodeIfPresent(content, forKey: .content)
        case .text(let t):
            try c.encode(t, forKey: .text)
        }
        try c.encode(finishReason, forKey: .finish_reason)
        try c.encodeNil(forKey: .logprobs)
    }
}

/// A response object or stream chunk: `chat.completion`, `chat.completion.chunk` or
/// `text_completion`.
struct CompletionObject: Encodable, Sendable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    /// In full responses always; in a stream only in the last chunk when asked
    /// (`stream_options.include_usage`), else `null` in every chunk that asked for usage.
    var usage: Usage?
    var encodeNullUsage = false

    private enum Keys: String, CodingKey { case id, object, created, model, choices, usage, system_fingerprint }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if let usage { try c.encode(usage, forKey: .usage) } else if encodeNullUsage { try c.encodeNil(forKey: .usage) }
    }

    /// The object as JSON bytes.
    var json: Data {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return (try? e.encode(self)) ?? Data()
    }

    /// The object as one server-sent event.
    var event: Data { Data("data: ".utf8) + json + Data("\n\n".utf8) }
}

import Foundation

/// The sampling and length fields both endpoints share, validated (OpenAI's ranges).
public struct GenerationOptions: Sendable, Equatable {
    /// Most tokens to generate (`max_tokens`, or `max_completion_tokens` for chat).
    public var maxTokens: Int
    /// Strings that end the answer (not included in it); at most 4, as OpenAI allows.
    public var stop: [String]
    /// Sampling temperature, 0…2 (0: greedy).
    public var temperature: Float
    /// Nucleus mass, (0, 1].
    public var topP: Float
    /// Seed of the sampler (nil: a random one).
    public var seed: UInt64?
    /// Send server-sent events.
    public var stream: Bool
    /// With `stream`: a last chunk carrying `usage` (`stream_options.include_usage`).
    public var includeUsage: Bool
}

/// A piece of a chat message's `content`: a string, or an array of parts of which only `text`
/// parts are accepted.
struct MessageContent: Decodable {
    var text: String

    private struct Part: Decodable {
        var type: String
        var text: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { text = ""; return }
        if let s = try? c.decode(String.self) { text = s; return }
        let parts = try c.decode([Part].self)
        var out = ""
        for p in parts {
            guard p.type == "text", let t = p.text else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "only text content parts are supported, got '\(p.type)'")
            }
            out += t
        }
        text = out
    }
}

/// One entry of `stop`: a string or an array of strings.
struct StopField: Decodable {
    var values: [String]
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { values = []; return }
        if let s = try? c.decode(String.self) { values = [s]; return }
        values = try c.decode([String].self)
    }
}

/// `stream_options`.
struct StreamOptions: Decodable {
    var include_usage: Bool?
}

/// The sampling and length fields both endpoints read, as sent (``GenerationOptions`` validates
/// them); decoded from the same JSON object as the endpoint's own fields.
struct GenerationFields: Decodable {
    var max_tokens: Int?
    var stop: StopField?
    var temperature: Double?
    var top_p: Double?
    var seed: Int64?
    var stream: Bool?
    var stream_options: StreamOptions?
    var n: Int?
}

/// The body of `POST /v1/chat/completions` (fields this server reads; others are ignored, as
/// OpenAI's clients send many).
struct ChatCompletionRequest: Decodable {
    struct Message: Decodable {
        var role: String
        var content: MessageContent?
    }
    var model: String
    var messages: [Message]
    /// Chat's newer name for `max_tokens`; wins when both are sent.
    var max_completion_tokens: Int?
    var generation: GenerationFields

    private enum CodingKeys: String, CodingKey { case model, messages, max_completion_tokens }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        messages = try c.decode([Message].self, forKey: .messages)
        max_completion_tokens = try c.decodeIfPresent(Int.self, forKey: .max_completion_tokens)
        generation = try GenerationFields(from: decoder)
    }
}

/// `prompt` of a completion request: a string or an array of token ids (one prompt; arrays of
/// strings would ask for several completions, which this server does not serve).
enum CompletionPrompt: Decodable {
    case text(String)
    case tokens([Int32])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s); return }
        if let t = try? c.decode([Int32].self) { self = .tokens(t); return }
        if let many = try? c.decode([String].self) {
            if many.count == 1 { self = .text(many[0]); return }
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "one prompt per request (got \(many.count))")
        }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "prompt must be a string or an array of token ids")
    }
}

/// The body of `POST /v1/completions`.
struct CompletionRequest: Decodable {
    var model: String
    var prompt: CompletionPrompt
    var echo: Bool?
    var generation: GenerationFields

    private enum CodingKeys: String, CodingKey { case model, prompt, echo }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        prompt = try c.decode(CompletionPrompt.self, forKey: .prompt)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        generation = try GenerationFields(from: decoder)
    }
}

extension GenerationOptions {
    /// Validates the shared fields. `maxTokens` overrides `fields.max_tokens` when given (chat's
    /// `max_completion_tokens`); `defaultMaxTokens`: OpenAI's 16 for completions, for chat the
    /// server's default.
    init(_ fields: GenerationFields, maxTokens: Int? = nil, defaultMaxTokens: Int, limits: ServerLimits) throws(ServeError) {
        let m = maxTokens ?? fields.max_tokens ?? defaultMaxTokens
        guard m >= 1 else { throw .invalidValue(param: "max_tokens", "max_tokens must be at least 1, got \(m)") }
        guard m <= limits.maxTokens else {
            throw .invalidValue(param: "max_tokens", "max_tokens is at most \(limits.maxTokens) on this server, got \(m)")
        }
        let stops = fields.stop?.values ?? []
        guard stops.count <= 4 else { throw .invalidValue(param: "stop", "at most 4 stop sequences, got \(stops.count)") }
        guard !stops.contains("") else { throw .invalidValue(param: "stop", "a stop sequence must not be empty") }
        let t = fields.temperature ?? 1
        guard t.isFinite, (0...2).contains(t) else { throw .invalidValue(param: "temperature", "temperature must be between 0 and 2, got \(t)") }
        let p = fields.top_p ?? 1
        guard p.isFinite, p > 0, p <= 1 else { throw .invalidValue(param: "top_p", "top_p must be in (0, 1], got \(p)") }
        if let n = fields.n, n != 1 { throw .invalidValue(param: "n", "this server returns one choice per request (n = 1), got n = \(n)") }
        if fields.stream_options != nil && fields.stream != true {
            throw .invalidValue(param: "stream_options", "stream_options is only allowed when stream is true")
        }
        self.init(maxTokens: m, stop: stops, temperature: Float(t), topP: Float(p), seed: fields.seed.map { UInt64(bitPattern: $0) },
                  stream: fields.stream ?? false, includeUsage: fields.stream_options?.include_usage ?? false)
    }
}

/// Limits on what one request may ask.
public struct ServerLimits: Sendable {
    /// Largest request body, bytes (413 above it).
    public var maxBodyBytes: Int
    /// Largest `max_tokens`.
    public var maxTokens: Int
    /// Longest prompt, tokens (400 `context_length_exceeded` above it): the server's limit, not
    /// the model's context — the worker reaches past that.
    public var maxPromptTokens: Int
    /// Requests waiting to start beyond those in progress (503 above it).
    public var maxQueued: Int
    /// Requests in progress at once, computing in turns (each holds its worker state).
    public var maxActive: Int
    /// `max_tokens` of a chat request that names none.
    public var defaultChatMaxTokens: Int

    public init(maxBodyBytes: Int = 16 << 20, maxTokens: Int = 4096, maxPromptTokens: Int = 262_144, maxQueued: Int = 64,
                maxActive: Int = 4, defaultChatMaxTokens: Int = 512) {
        self.maxBodyBytes = maxBodyBytes; self.maxTokens = maxTokens; self.maxPromptTokens = maxPromptTokens
        self.maxQueued = maxQueued; self.maxActive = maxActive; self.defaultChatMaxTokens = defaultChatMaxTokens
    }
}

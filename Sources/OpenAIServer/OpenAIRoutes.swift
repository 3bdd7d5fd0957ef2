import Foundation
import Hummingbird
import HummingbirdCore
import LanguageModel
import Logging
import NIOCore
import PrometheusMetrics
import Synchronization

/// The HTTP side of `actqkv serve`: OpenAI's `POST /v1/chat/completions`, `POST /v1/completions`
/// (streamed as server-sent events or not), `GET /v1/models`, `GET /health` and `GET /metrics` over a
/// ``GenerationService`` (docs/SERVER.md).
public enum OpenAIRoutes {
    /// Where and how many.
    public struct Listen: Sendable {
        public var host: String
        /// 0: any free port (the one chosen is passed to `onRunning`).
        public var port: Int
        /// Connections served at once; further ones wait in the listen backlog.
        public var maxConnections: Int
        public init(host: String, port: Int, maxConnections: Int) { self.host = host; self.port = port; self.maxConnections = maxConnections }
    }

    /// The server: run it with `runService()`. `onRunning` gets the bound port once it listens.
    public static func application(service: GenerationService, listen: Listen, logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.get("/metrics") { _, _ in
            let text = service.metrics.render(waiting: service.queue.waitingCount, active: service.queue.activeCount,
                                              standbys: service.standbys.readyCount)
            return Response(status: .ok, headers: [.contentType: PrometheusText.contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/health") { _, _ in
            jsonResponse(["status": "ok", "model": service.modelID, "waiting": service.queue.waitingCount, "active": service.queue.activeCount])
        }
        router.get("/v1/models") { _, _ in
            jsonResponse(["object": "list", "data": [["id": service.modelID, "object": "model", "created": 0, "owned_by": "actqkv"]]])
        }
        router.get("/v1/models/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == service.modelID else { throw ServeError.modelNotFound(id) }
            return jsonResponse(["id": service.modelID, "object": "model", "created": 0, "owned_by": "actqkv"])
        }
        router.post("/v1/chat/completions") { request, _ in
            try await chatCompletion(request, service: service)
        }
        router.post("/v1/completions") { request, _ in
            try await completion(request, service: service)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "actqkv",
                                 availableConnectionsDelegate: MaximumAvailableConnections(listen.maxConnections)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? listen.port) },
            logger: logger
        )
    }

    // MARK: Endpoints

    static func chatCompletion(_ request: Request, service: GenerationService) async throws -> Response {
        let body = try await decode(ChatCompletionRequest.self, from: request, service: service)
        guard body.model == service.modelID else { throw ServeError.modelNotFound(body.model) }
        guard !body.messages.isEmpty else { throw ServeError.invalidValue(param: "messages", "messages must not be empty") }
        var messages: [ChatMessage] = []
        for (i, m) in body.messages.enumerated() {
            let role: String
            switch m.role {
            case "system", "developer": role = "system"
            case "user", "assistant": role = m.role
            default: throw ServeError.invalidValue(param: "messages[\(i)].role", "role must be system, developer, user or assistant, got '\(m.role)'")
            }
            messages.append(ChatMessage(role: role, content: m.content?.text ?? ""))
        }
        let options = try GenerationOptions(body.generation, maxTokens: body.max_completion_tokens,
                                            defaultMaxTokens: service.limits.defaultChatMaxTokens, limits: service.limits)
        let prompt = try service.chatPrompt(messages)
        return try await respond(prompt: prompt, options: options, service: service, kind: .chat)
    }

    static func completion(_ request: Request, service: GenerationService) async throws -> Response {
        let body = try await decode(CompletionRequest.self, from: request, service: service)
        guard body.model == service.modelID else { throw ServeError.modelNotFound(body.model) }
        if body.echo == true { throw ServeError.invalidValue(param: "echo", "echo is not supported") }
        let options = try GenerationOptions(body.generation, defaultMaxTokens: 16, limits: service.limits)
        let prompt = try service.completionPrompt(body.prompt)
        return try await respond(prompt: prompt, options: options, service: service, kind: .text)
    }

    enum Kind {
        case chat, text
        var object: String { self == .chat ? "chat.completion" : "text_completion" }
        var chunkObject: String { self == .chat ? "chat.completion.chunk" : "text_completion" }
        var idPrefix: String { self == .chat ? "chatcmpl-" : "cmpl-" }
        func body(_ text: String) -> Choice.Body { self == .chat ? .delta(role: nil, content: text) : .text(text) }
    }

    static func respond(prompt: PreparedPrompt, options: GenerationOptions, service: GenerationService, kind: Kind) async throws -> Response {
        let id = kind.idPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let created = Int(Date().timeIntervalSince1970)
        let model = service.modelID
        try service.admit(prompt)

        guard options.stream else {
            let collected = Collected()
            let outcome = try await service.generate(prompt, options: options) { piece in collected.append(piece); return true }
            service.log(kind.object, id: id, outcome: outcome)
            let text = collected.text
            let object = CompletionObject(id: id, object: kind.object, created: created, model: model,
                                          choices: [Choice(body: kind == .chat ? .message(text) : .text(text), finishReason: outcome.finishReason)],
                                          usage: Usage(outcome))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: object.json)))
        }

        let (events, sink) = AsyncStream<Data>.makeStream()
        let gone = Flag()
        let chunk = { @Sendable (body: Choice.Body, finish: String?) in
            CompletionObject(id: id, object: kind.chunkObject, created: created, model: model, choices: [Choice(body: body, finishReason: finish)],
                             usage: nil, encodeNullUsage: options.includeUsage)
        }
        let generation = Task { () -> Result<GenerationOutcome, ServeError> in
            defer { sink.finish() }
            do throws(ServeError) {
                let outcome = try await service.generate(prompt, options: options) { piece in
                    sink.yield(chunk(kind.body(piece), nil).event)
                    return !gone.isSet
                }
                service.log(kind.chunkObject, id: id, outcome: outcome, clientGone: gone.isSet)
                return .success(outcome)
            } catch {
                return .failure(error)
            }
        }
        let body = ResponseBody { writer in
            do {
                if kind == .chat { try await writer.write(ByteBuffer(bytes: chunk(.delta(role: "assistant", content: ""), nil).event)) }
                for await event in events { try await writer.write(ByteBuffer(bytes: event)) }
                switch await generation.value {
                case .success(let outcome):
                    try await writer.write(ByteBuffer(bytes: chunk(kind.body(""), outcome.finishReason).event))
                    if options.includeUsage {
                        let last = CompletionObject(id: id, object: kind.chunkObject, created: created, model: model, choices: [], usage: Usage(outcome))
                        try await writer.write(ByteBuffer(bytes: last.event))
                    }
                case .failure(let error):
                    service.logger.warning("\(kind.chunkObject) \(id) failed: \(error) (code \(error.code))")
                    try await writer.write(ByteBuffer(bytes: Data("data: ".utf8) + error.body + Data("\n\n".utf8)))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            } catch {
                // The client is gone: stop generating at the next token.
                gone.set()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    // MARK: Helpers

    /// Reads the body (at most `maxBodyBytes`) and decodes it, with OpenAI-style errors.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, service: GenerationService) async throws(ServeError) -> T {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: service.limits.maxBodyBytes) } catch is NIOTooManyBytesError {
            throw .bodyTooLarge(limit: service.limits.maxBodyBytes)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw .bodyTooLarge(limit: service.limits.maxBodyBytes)
        } catch {
            throw .malformedRequest("could not read the request body: \(error)")
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidValue(param: path(context.codingPath + [key]), "missing required parameter: '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidValue(param: path(context.codingPath), "invalid type for '\(path(context.codingPath))': \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw .invalidValue(param: path(context.codingPath), "'\(path(context.codingPath))' must not be null")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw .invalidValue(param: path(context.codingPath), "invalid '\(path(context.codingPath))': \(context.debugDescription)")
        } catch {
            throw .malformedRequest("the request body is not valid JSON")
        }
    }

    /// `messages[0].role` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
        }
        return s
    }

    static func jsonResponse(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A flag set once from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Text collected from a generation's callbacks.
final class Collected: Sendable {
    private let value = Mutex("")
    var text: String { value.withLock { $0 } }
    func append(_ s: String) { value.withLock { $0 += s } }
}

extension GenerationService {
    /// One log line per answered request, and its metrics.
    func log(_ object: String, id: String, outcome o: GenerationOutcome, clientGone: Bool = false) {
        metrics.record(o, clientGone: clientGone)
        logger.info("\(object) \(id)\(clientGone ? ": client disconnected, generation stopped" : "")", metadata: [
            "prompt_tokens": "\(o.promptTokens)", "cached_tokens": "\(o.cachedTokens)", "completion_tokens": "\(o.completionTokens)",
            "finish_reason": "\(o.finishReason)", "first_token_s": "\(String(format: "%.3f", o.firstTokenSeconds))",
            "total_s": "\(String(format: "%.3f", o.totalSeconds))",
        ].merging(o.cachePointsSkipped > 0 ? ["cache_points_skipped_full_kvd": "\(o.cachePointsSkipped)"] : [:]) { a, _ in a })
    }
}

import Foundation
import Hummingbird

/// What a request can fail with, rendered as OpenAI's error object
/// (`{"error": {"message", "type", "param", "code"}}`) with its HTTP status. ``code`` is stable
/// (8xx range of the server); ``openAICode`` is the string OpenAI's clients see.
public enum ServeError: Error, Sendable, CustomStringConvertible {
    /// The body is not JSON, or not the request's shape. 400.
    case malformedRequest(String)
    /// A field has a value outside its range. 400.
    case invalidValue(param: String, String)
    /// The request names a model this server does not serve. 404.
    case modelNotFound(String)
    /// The body exceeds the server's limit, bytes. 413.
    case bodyTooLarge(limit: Int)
    /// The prompt exceeds the server's `--max-prompt-tokens`. 400.
    case promptTooLong(tokens: Int, limit: Int)
    /// Chat completions on a model without a chat template (a base model). 400.
    case noChatTemplate
    /// Too many requests are already waiting for the model. 503.
    case overloaded(queued: Int)
    /// kvd cannot be reached (or was lost during the request). 503.
    case kvdUnavailable(String)
    /// kvd has no room for the prompt's blocks (its capacity or quota, nothing evictable). 503.
    case kvdFull(String)
    /// The worker failed for another reason. 500.
    case generationFailed(String)

    /// Stable numeric code.
    public var code: Int {
        switch self {
        case .malformedRequest: 801
        case .invalidValue: 802
        case .modelNotFound: 803
        case .bodyTooLarge: 804
        case .promptTooLong: 805
        case .noChatTemplate: 806
        case .overloaded: 807
        case .kvdUnavailable: 808
        case .generationFailed: 809
        case .kvdFull: 810
        }
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status {
        switch self {
        case .malformedRequest, .invalidValue, .promptTooLong, .noChatTemplate: .badRequest
        case .modelNotFound: .notFound
        case .bodyTooLarge: .contentTooLarge
        case .overloaded, .kvdUnavailable, .kvdFull: .serviceUnavailable
        case .generationFailed: .internalServerError
        }
    }

    /// OpenAI's `type`.
    var openAIType: String {
        switch self {
        case .overloaded, .kvdUnavailable, .kvdFull, .generationFailed: "server_error"
        default: "invalid_request_error"
        }
    }

    /// OpenAI's `code` string.
    var openAICode: String {
        switch self {
        case .malformedRequest: "invalid_request"
        case .invalidValue: "invalid_value"
        case .modelNotFound: "model_not_found"
        case .bodyTooLarge: "request_too_large"
        case .promptTooLong: "context_length_exceeded"
        case .noChatTemplate: "no_chat_template"
        case .overloaded: "server_overloaded"
        case .kvdUnavailable: "kvd_unavailable"
        case .kvdFull: "kvd_full"
        case .generationFailed: "server_error"
        }
    }

    /// OpenAI's `param`.
    var param: String? {
        switch self {
        case .invalidValue(let p, _): p
        case .modelNotFound: "model"
        case .promptTooLong: "messages"
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .malformedRequest(let m): m
        case .invalidValue(_, let m): m
        case .modelNotFound(let name): "The model '\(name)' does not exist on this server (GET /v1/models lists it)"
        case .bodyTooLarge(let limit): "the request body exceeds \(limit) bytes"
        case .promptTooLong(let n, let limit): "the prompt has \(n) tokens; this server accepts at most \(limit) (--max-prompt-tokens)"
        case .noChatTemplate: "this model has no chat template (a base model): use /v1/completions"
        case .overloaded(let q): "\(q) requests are already waiting; retry later"
        case .kvdUnavailable(let m): "kvd is unavailable: \(m)"
        case .kvdFull(let m): "kvd has no room for this prompt's blocks (its --capacity or owner quota is reached and nothing it may evict is left; retry when other requests are done, or raise the capacity): \(m)"
        case .generationFailed(let m): "generation failed: \(m)"
        }
    }

    /// The error object's JSON.
    var body: Data {
        let object: [String: Any] = ["error": [
            "message": description, "type": openAIType, "param": param.map { $0 as Any } ?? NSNull(), "code": openAICode,
        ] as [String: Any]]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}

extension ServeError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

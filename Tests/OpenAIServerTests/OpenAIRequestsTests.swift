import Foundation
import Testing
@testable import OpenAIServer

@Suite struct OpenAIRequestsTests {
    func chat(_ json: String) throws -> ChatCompletionRequest { try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(json.utf8)) }

    @Test("content as a string, text parts or null; stop as a string or a list; unknown fields ignored")
    func shapes() throws {
        let r = try chat("""
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
             {"role": "assistant", "content": null}, {"role": "user", "content": "c"}], "stop": "x", "tools": [], "user": "u"}
            """)
        #expect(r.messages.map { $0.content?.text ?? "" } == ["ab", "", "c"])
        #expect(r.generation.stop?.values == ["x"])
        #expect(try chat(#"{"model": "m", "messages": [], "stop": ["a", "b"]}"#).generation.stop?.values == ["a", "b"])
        let both = try chat(#"{"model": "m", "messages": [], "max_tokens": 5, "max_completion_tokens": 7, "temperature": 0}"#)
        #expect(try GenerationOptions(both.generation, maxTokens: both.max_completion_tokens, defaultMaxTokens: 16, limits: ServerLimits()).maxTokens == 7)
        #expect(throws: DecodingError.self) { try chat(#"{"model": "m", "messages": [], "top_p": "high"}"#) }
        #expect(throws: DecodingError.self) { try chat(#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#) }
        let p = try JSONDecoder().decode(CompletionRequest.self, from: Data(#"{"model": "m", "prompt": [1, 2, 3]}"#.utf8))
        guard case .tokens(let t) = p.prompt else { Issue.record("token prompt"); return }
        #expect(t == [1, 2, 3])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CompletionRequest.self, from: Data(#"{"model": "m", "prompt": ["a", "b"]}"#.utf8)) }
    }

    @Test("defaults and OpenAI's ranges")
    func options() throws {
        let limits = ServerLimits(maxTokens: 100)
        func make(max: Int? = nil, stop: [String]? = nil, t: Double? = nil, p: Double? = nil, n: Int? = nil, stream: Bool? = nil,
                  streamOptions: Bool = false) throws(ServeError) -> GenerationOptions {
            let stopField = try? stop.map { try JSONDecoder().decode(StopField.self, from: JSONEncoder().encode($0)) }
            let fields = GenerationFields(max_tokens: max, stop: stopField ?? nil, temperature: t, top_p: p, seed: 7, stream: stream,
                                          stream_options: streamOptions ? StreamOptions(include_usage: true) : nil, n: n)
            return try GenerationOptions(fields, defaultMaxTokens: 16, limits: limits)
        }
        let d = try make()
        #expect(d.maxTokens == 16 && d.temperature == 1 && d.topP == 1 && d.seed == 7 && !d.stream && d.stop.isEmpty)
        let params: [(String, () throws(ServeError) -> GenerationOptions)] = [
            ("max_tokens", { () throws(ServeError) in try make(max: 0) }), ("max_tokens", { () throws(ServeError) in try make(max: 101) }),
            ("temperature", { () throws(ServeError) in try make(t: 2.5) }), ("temperature", { () throws(ServeError) in try make(t: -0.1) }),
            ("top_p", { () throws(ServeError) in try make(p: 0) }), ("top_p", { () throws(ServeError) in try make(p: 1.5) }),
            ("n", { () throws(ServeError) in try make(n: 3) }), ("stop", { () throws(ServeError) in try make(stop: ["a", "b", "c", "d", "e"]) }),
            ("stop", { () throws(ServeError) in try make(stop: [""]) }), ("stream_options", { () throws(ServeError) in try make(streamOptions: true) }),
        ]
        for (param, build) in params {
            do {
                _ = try build()
                Issue.record("\(param): accepted")
            } catch {
                guard case .invalidValue(let p, _) = error else { Issue.record("\(param): \(error)"); continue }
                #expect(p == param)
                #expect(error.status == .badRequest)
            }
        }
        #expect(try make(max: 100, t: 0, p: 1, n: 1, stream: true, streamOptions: true).includeUsage)
    }

    @Test("errors render as OpenAI's error object with a stable code and the right status")
    func errorObject() throws {
        let e = ServeError.invalidValue(param: "top_p", "top_p must be in (0, 1], got 0")
        let object = try #require(try JSONSerialization.jsonObject(with: e.body) as? [String: Any])
        let inner = try #require(object["error"] as? [String: Any])
        #expect(inner["type"] as? String == "invalid_request_error")
        #expect(inner["code"] as? String == "invalid_value")
        #expect(inner["param"] as? String == "top_p")
        #expect((inner["message"] as? String ?? "").contains("top_p"))
        #expect(ServeError.kvdUnavailable("x").status == .serviceUnavailable && ServeError.kvdUnavailable("x").code == 808)
        #expect(ServeError.bodyTooLarge(limit: 1).status == .contentTooLarge)
        #expect(ServeError.modelNotFound("m").status == .notFound)
        let noParam = try #require(try JSONSerialization.jsonObject(with: ServeError.malformedRequest("x").body) as? [String: Any])
        #expect((noParam["error"] as? [String: Any])?["param"] is NSNull)
    }
}

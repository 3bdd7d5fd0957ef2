import ActQKV
import Foundation
import LanguageModelTesting
import Testing
@testable import LanguageModel
@testable import Worker

enum LongContextTestSupport {
    /// The fixture `logits/long.json` token ids (1391 tokens of licence text).
    static func longPromptIDs() throws -> [Int32] {
        let url = URL(fileURLWithPath: ModelTestSupport.fixturesDirectory).appendingPathComponent("llamacpp-smollm2/logits/long.json")
        let data = try Data(contentsOf: url)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ids = try #require(object["ids"] as? [Int])
        return ids.map { Int32($0) }
    }

    /// Relative error max|a − b| / max|b|.
    static func relativeError(_ a: [Float], reference b: [Float]) -> Double {
        precondition(a.count == b.count)
        var num = 0.0, den = 0.0
        for i in a.indices { num = max(num, abs(Double(a[i]) - Double(b[i]))); den = max(den, abs(Double(b[i]))) }
        return num / den
    }

    /// Runs `prompt` through `model` with `backend` on the worker's schedule: chunks of `chunk`
    /// tokens starting at multiples of it up to the last prompt token, then the last token alone;
    /// then each token of `decode` alone. Returns the logits after the prompt and after each
    /// decode token.
    static func scheduledForward(model: DecoderModel, prompt: [Int32], chunk: Int, decode: [Int32], backend: some AttentionBackend) throws -> [[Float]] {
        var start = 0
        let n = prompt.count
        while start < n - 1 {
            let end = min(n - 1, start + chunk)
            _ = try model.forward(tokens: Array(prompt[start..<end]), attention: backend, logits: .none)
            start = end
        }
        var out = [try model.forward(tokens: [prompt[n - 1]], attention: backend, logits: .last)]
        for t in decode { out.append(try model.forward(tokens: [t], attention: backend, logits: .last)) }
        return out
    }
}

import Foundation

/// Wall-clock timings of one ``DecoderModel/generate(prompt:maxTokens:sampling:stopTokens:attention:onToken:)`` call.
public struct GenerationTimings: Sendable {
    /// Tokens of the prompt (prefilled).
    public var promptTokens = 0
    /// Seconds spent in the prefill forward pass (including the first token's logits).
    public var prefillSeconds = 0.0
    /// Tokens produced by decoding after the first one (each one a single-token forward pass).
    public var decodedTokens = 0
    /// Seconds spent in single-token forward passes (sampling excluded).
    public var decodeSeconds = 0.0

    /// Prompt tokens per second of prefill.
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Milliseconds per decoded token.
    public var decodeMillisecondsPerToken: Double { decodedTokens > 0 ? decodeSeconds * 1000 / Double(decodedTokens) : 0 }
}

extension DecoderModel {
    /// Prefills `prompt`, then produces up to `maxTokens` tokens one at a time, calling
    /// `onToken` with each as soon as it is chosen. Stops early after a token in `stopTokens`
    /// (which is still reported) or when `onToken` returns false.
    ///
    /// - Parameter attention: the sequence's backend; default a fresh dense cache sized for
    ///   `prompt.count + maxTokens` tokens.
    /// - Returns: the timings.
    @discardableResult
    public func generate(
        prompt: [Int32], maxTokens: Int, sampling: SamplingParameters = .greedy, stopTokens: Set<Int32> = [],
        attention: (any AttentionBackend)? = nil, onToken: (Int32) throws -> Bool
    ) throws -> GenerationTimings {
        guard !prompt.isEmpty else { throw ModelError.emptyInput }
        let backend = attention ?? makeDenseCache(capacity: prompt.count + max(maxTokens, 1))
        var sampler = Sampler(parameters: sampling)
        var timings = GenerationTimings()
        timings.promptTokens = prompt.count
        guard maxTokens > 0 else {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try forward(tokens: prompt, attention: backend, logits: .none)
            timings.prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            return timings
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try forward(tokens: prompt, attention: backend, logits: .last)
        timings.prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var produced = 0
        while true {
            let token = sampler.sample(logits)
            produced += 1
            guard try onToken(token), !stopTokens.contains(token), produced < maxTokens else { break }
            let t1 = DispatchTime.now().uptimeNanoseconds
            logits = try forward(tokens: [token], attention: backend, logits: .last)
            timings.decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
            timings.decodedTokens += 1
        }
        return timings
    }
}

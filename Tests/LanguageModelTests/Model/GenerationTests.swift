import Foundation
import LanguageModelTesting
import Testing
@testable import LanguageModel

@Suite("Generation loop")
struct GenerationTests {
    @Test("greedy generate reproduces llama.cpp's greedy continuation of the medium prompt and stops at a stop token")
    func greedyMatchesFixture() throws {
        let model = try ModelTestSupport.loadRealModel()
        let dir = ModelTestSupport.fixturesDirectory + "/llamacpp-smollm2/logits/"
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "medium.json"))) as! [String: Any]
        let ids = (json["ids"] as! [Int]).map(Int32.init)
        let expected = (json["greedy_continuation"] as! [Int]).map(Int32.init)
        var produced = [Int32]()
        let started = DispatchTime.now().uptimeNanoseconds
        let timings = try model.generate(prompt: ids, maxTokens: expected.count) { produced.append($0); return true }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        #expect(produced == expected)
        #expect(timings.promptTokens == ids.count && timings.decodedTokens == expected.count - 1)
        // What `actqkv generate` prints from the timings (prefill tokens/s, ms per decoded token)
        // is a real rate, and the two phases are disjoint parts of the call, measured on the
        // same monotonic clock: together never more than the call took (a phase counted twice
        // or timed from the wrong start would exceed it).
        #expect(timings.prefillTokensPerSecond > 0 && timings.prefillTokensPerSecond.isFinite)
        #expect(timings.decodeMillisecondsPerToken > 0 && timings.decodeMillisecondsPerToken.isFinite)
        #expect(timings.prefillSeconds + timings.decodeSeconds <= elapsed, "prefill \(timings.prefillSeconds) s + decode \(timings.decodeSeconds) s > call \(elapsed) s")
        // Only single-token forward passes count as decoding: one produced token (from the
        // prefill's logits) means no decode time at all.
        let one = try model.generate(prompt: ids, maxTokens: 1) { _ in true }
        #expect(one.decodedTokens == 0 && one.decodeSeconds == 0 && one.decodeMillisecondsPerToken == 0)
        #expect(one.prefillSeconds > 0)

        // A stop token ends generation right after it is reported.
        var stopped = [Int32]()
        _ = try model.generate(prompt: ids, maxTokens: 50, stopTokens: [expected[3]]) { stopped.append($0); return true }
        #expect(stopped == Array(expected.prefix(4)))
        // The callback can end generation too.
        var two = [Int32]()
        _ = try model.generate(prompt: ids, maxTokens: 50) { two.append($0); return two.count < 2 }
        #expect(two == Array(expected.prefix(2)))
    }

    @Test("sampled generation is deterministic per seed and differs across seeds")
    func sampledGenerationIsSeeded() throws {
        let model = try ModelTestSupport.loadRealModel()
        let prompt: [Int32] = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 2, 198, 1, 4093, 198, 19556, 2, 198, 1, 520, 9531, 198]
        func run(_ seed: UInt64) throws -> [Int32] {
            var out = [Int32]()
            try model.generate(prompt: prompt, maxTokens: 24, sampling: SamplingParameters(temperature: 1.2, topP: 0.95, seed: seed)) {
                out.append($0); return true
            }
            return out
        }
        let a = try run(7), b = try run(7), c = try run(8)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 24)
    }
}

import Foundation
import Testing
@testable import Inference

/// One llama.cpp reference case (see the fixtures' README.md).
private struct LogitsFixture: Decodable {
    let text: String
    let ids: [Int32]
    let n_tokens: Int
    let top1_per_position: [Int]
    let greedy_continuation: [Int32]
    let last_top20: [[Double]]
    let last_logits_file: String

    static func load(_ name: String) throws -> (LogitsFixture, [Float]) {
        let dir = ModelTestSupport.fixturesDirectory + "/llamacpp-smollm2/logits/"
        guard FileManager.default.fileExists(atPath: dir + name + ".json") else {
            Issue.record("fixture \(dir)\(name).json is missing (set ACTQKV_FIXTURES)")
            throw CocoaError(.fileNoSuchFile)
        }
        let fixture = try JSONDecoder().decode(LogitsFixture.self, from: Data(contentsOf: URL(fileURLWithPath: dir + name + ".json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + fixture.last_logits_file))
        let logits = raw.withUnsafeBytes { b in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (fixture, logits)
    }
}

@Suite("Llama forward pass against llama.cpp (SmolLM2-135M-Instruct Q4_1)")
struct LlamaCppFixtureTests {
    /// KL(llama.cpp ‖ ours) bounds. These are looser than issue 4's literal criteria (KL < 0.01,
    /// top-5 overlap ≥ 4, argmax ≥ 98 %) on purpose, because those criteria cannot be met by an exact
    /// computation: llama.cpp rounds the activations to 8 bits (Q8_1/Q8_0 blocks) before every
    /// product with Q4_1/Q8_0 weights, and that noise alone moves it this far from the exact function.
    /// Evidence: (1) on the same model dequantised to Float32, llama.cpp and this forward pass agree to
    /// KL ≈ 5e-11 and the same argmax at all 1 836 positions (``LlamaCppDequantizedFixtureTests``);
    /// (2) an independent Float64 NumPy implementation (scripts/llama_reference.py) gets the same
    /// numbers as ours here (short 0.0155, medium 0.0089 nats); (3) emulating the 8-bit activations
    /// in the output projection alone brings llama.cpp's logits from 0.24 to 2e-5 max |Δ| on most rows.
    /// Measured here: short 0.0155, medium 0.0089, long 0.0061 nats; argmax 36/37, 400/408,
    /// 1343/1391 (96.5 %), and 100 % (minus one) where our top-2 margin is ≥ 0.5.
    static let klBound: [String: Double] = ["short": 0.02, "medium": 0.01, "long": 0.01]

    @Test("prefill logits match llama.cpp: last-position argmax, top-5, KL, per-position argmax",
          arguments: ["short", "medium", "long"])
    func prefillMatchesLlamaCpp(name: String) throws {
        let model = try ModelTestSupport.loadRealModel()
        let (fixture, reference) = try LogitsFixture.load(name)
        let vocab = model.config.vocabularySize
        #expect(reference.count == vocab)
        #expect(fixture.ids.count == fixture.n_tokens)

        // Prefill in chunks of 200 tokens through the cache (exercises chunk boundaries), keeping
        // every position's argmax and top-2 margin and the last position's logits.
        let cache = model.makeDenseCache(capacity: fixture.ids.count + 1)
        var argmaxes = [Int](), margins = [Float]()
        var last = [Float]()
        var start = 0
        while start < fixture.ids.count {
            let end = min(fixture.ids.count, start + 200)
            let logits = try model.forward(tokens: Array(fixture.ids[start..<end]), attention: cache, logits: .all)
            #expect(logits.count == (end - start) * vocab)
            for r in 0..<(end - start) {
                let row = Array(logits[(r * vocab)..<((r + 1) * vocab)])
                let top2 = ModelTestSupport.topK(row, 2)
                argmaxes.append(top2[0])
                margins.append(row[top2[0]] - row[top2[1]])
            }
            if end == fixture.ids.count { last = Array(logits[((end - start - 1) * vocab)...]) }
            start = end
        }
        #expect(cache.position == fixture.ids.count)

        // Per-position argmax: overall, and where our own top-2 margin is not a near-tie (0.5).
        let pairs = Array(zip(argmaxes, fixture.top1_per_position))
        let agree = pairs.filter { $0 == $1 }.count
        let confident = pairs.indices.filter { margins[$0] >= 0.5 }
        let confidentAgree = confident.filter { pairs[$0].0 == pairs[$0].1 }.count
        #expect(Double(agree) >= 0.95 * Double(pairs.count), "argmax agrees at \(agree) of \(pairs.count) positions")
        #expect(Double(confidentAgree) >= 0.99 * Double(confident.count),
                "argmax agrees at \(confidentAgree) of \(confident.count) positions without a near-tie")

        // Last position: the argmax equals llama.cpp's unless llama.cpp's own top-2 are a near-tie
        // (< 0.5 apart, the fixtures' README rule); then it must be one of the tied tokens.
        let theirs = fixture.last_top20.map { (token: Int($0[0]), logit: $0[1]) }
        let ours = ModelTestSupport.argmax(last[...])
        #expect(ModelTestSupport.argmax(reference[...]) == theirs[0].token)
        if theirs[0].logit - theirs[1].logit >= 0.5 {
            #expect(ours == theirs[0].token)
        } else {
            #expect(theirs.filter { theirs[0].logit - $0.logit < 0.5 }.map(\.token).contains(ours),
                    "ours \(ours) is not among llama.cpp's near-tied best tokens")
        }

        // Top-5: at least 4 of ours among llama.cpp's top 5, where a token tied (within 0.05) with
        // llama.cpp's 5th counts as top 5.
        let fifth = theirs[4].logit
        let theirTop5 = Set(theirs.filter { $0.logit >= fifth - 0.05 }.map(\.token))
        let ourTop5 = Set(ModelTestSupport.topK(last, 5))
        #expect(ourTop5.intersection(theirTop5).count >= 4, "top-5 ours \(ourTop5) llama.cpp \(theirTop5)")

        let kl = ModelTestSupport.klDivergence(reference: reference, candidate: last)
        #expect(kl < Self.klBound[name]!, "KL(llama.cpp ‖ ours) = \(kl) nats")
        let maxDelta = zip(last, reference).map { abs($0 - $1) }.max()!
        print("fixture \(name): \(pairs.count) tokens, argmax agreement \(agree)/\(pairs.count) (\(confidentAgree)/\(confident.count) without near-tie), KL \(kl) nats, max |Δlogit| \(maxDelta), top-5 overlap \(ourTop5.intersection(Set(theirs.prefix(5).map(\.token))).count)")
    }

    @Test("greedy continuation (single-token decoding on quantised weights) matches llama.cpp except at near-ties",
          arguments: ["short", "medium", "long"])
    func greedyContinuationMatches(name: String) throws {
        let model = try ModelTestSupport.loadRealModel()
        let (fixture, _) = try LogitsFixture.load(name)
        let cache = model.makeDenseCache(capacity: fixture.ids.count + fixture.greedy_continuation.count + 1)
        var logits = try model.forward(tokens: fixture.ids, attention: cache, logits: .last)
        let theirMargin = fixture.last_top20[0][1] - fixture.last_top20[1][1]
        // Teacher forcing: llama.cpp's token is fed back at every step, so that one near-tie does
        // not end the comparison; a different argmax is allowed only at a near-tie (top-2 within
        // 0.5: ours at every step, llama.cpp's where known, i.e. at the first step).
        var equalUntilFirstDifference = 0, differences = 0, stillEqual = true
        for (step, expected) in fixture.greedy_continuation.enumerated() {
            let ours = Sampler.argmax(logits)
            let top2 = ModelTestSupport.topK(logits, 2)
            let margin = Double(logits[top2[0]] - logits[top2[1]])
            let nearTie = margin < 0.5 || (step == 0 && theirMargin < 0.5)
            if ours != expected {
                differences += 1
                stillEqual = false
                #expect(nearTie, "step \(step): ours \(ours), llama.cpp \(expected), our top-2 margin \(margin)")
                #expect(top2.contains(Int(expected)), "step \(step): llama.cpp's token \(expected) is not in our top 2")
            } else if stillEqual {
                equalUntilFirstDifference += 1
            }
            logits = try model.forward(tokens: [expected], attention: cache, logits: .last)
        }
        #expect(differences <= 3)
        print("fixture \(name): greedy continuation: first \(equalUntilFirstDifference) of \(fixture.greedy_continuation.count) tokens equal, \(differences) near-tie differences under teacher forcing")
    }
}

import CoreTypes
import Testing
@testable import LanguageModel

/// Logits with a clear shape: a few strong tokens and a long tail, non-zero everywhere.
private func sampleLogits(count: Int = 1000, seed: UInt64 = 7) -> [Float] {
    var g = SplitMix64(seed: seed)
    var l = (0..<count).map { _ in Float(g.nextUnit() * 4 - 2) }
    l[17] = 6; l[400] = 5.5; l[999] = 5
    return l
}

@Suite("Sampler")
struct SamplerTests {
    @Test("the same seed gives the same tokens; another seed gives a different sequence")
    func sameSeedSameTokens() {
        let logits = sampleLogits()
        let params = SamplingParameters(temperature: 1.0, topP: 0.95, seed: 42)
        var a = Sampler(parameters: params), b = Sampler(parameters: params)
        let ta = (0..<200).map { _ in a.sample(logits) }
        let tb = (0..<200).map { _ in b.sample(logits) }
        #expect(ta == tb)
        var c = Sampler(parameters: SamplingParameters(temperature: 1.0, topP: 0.95, seed: 43))
        let tc = (0..<200).map { _ in c.sample(logits) }
        #expect(tc != ta)
        #expect(Set(ta).count > 3, "sampling at temperature 1 should not be greedy")
    }

    @Test("temperature 0 and a tiny temperature both equal greedy")
    func temperatureZeroIsGreedy() {
        for s in 0..<20 as Range<UInt64> {
            let logits = sampleLogits(seed: s)
            let greedy = Sampler.argmax(logits)
            #expect(greedy == 17)
            var zero = Sampler(parameters: SamplingParameters(temperature: 0, seed: s))
            var tiny = Sampler(parameters: SamplingParameters(temperature: 1e-4, topP: 0.9, seed: s))
            for _ in 0..<10 {
                #expect(zero.sample(logits) == greedy)
                #expect(tiny.sample(logits) == greedy)
            }
        }
    }

    @Test("argmax picks the lowest id among equal maxima")
    func argmaxTies() {
        #expect(Sampler.argmax([1, 3, 2, 3] as [Float]) == 1)
        #expect(Sampler.argmax([-5, -1, -1] as [Float]) == 1)
    }

    @Test("top-p keeps the smallest most-probable set whose mass reaches p")
    func nucleusIsSmallestSet() {
        // Binary fractions, so that the Float p and the Double masses compare exactly.
        let p: [Double] = [0.0625, 0.5, 0.125, 0.25, 0.0625]
        #expect(Sampler.nucleus(p, topP: 0.5) == [1])
        #expect(Sampler.nucleus(p, topP: 0.5001) == [1, 3])
        #expect(Sampler.nucleus(p, topP: 0.75) == [1, 3])
        #expect(Sampler.nucleus(p, topP: 0.76) == [1, 3, 2])
        #expect(Sampler.nucleus(p, topP: 0.9) == [1, 3, 2, 0], "ties keep the lower id first")
        #expect(Sampler.nucleus(p, topP: 1.0).count == 5)
        // Against a brute-force definition on a large random distribution.
        let logits = sampleLogits(count: 5000, seed: 3)
        let probs = Sampler.probabilities(logits, temperature: 0.7)
        #expect(abs(probs.reduce(0, +) - 1) < 1e-9)
        for topP in [0.1, 0.5, 0.9, 0.99] as [Float] {
            let kept = Sampler.nucleus(probs, topP: topP)
            let sorted = probs.sorted(by: >)
            var mass = 0.0, k = 0
            while mass < Double(topP) { mass += sorted[k]; k += 1 }
            #expect(kept.count == k)
            let keptMass = kept.reduce(0.0) { $0 + probs[Int($1)] }
            #expect(keptMass >= Double(topP))
            #expect(keptMass - probs[Int(kept.last!)] < Double(topP), "dropping the last kept token must fall below p")
        }
    }

    @Test("samples only from the nucleus, with frequencies close to the renormalised probabilities")
    func samplesFromNucleusOnly() {
        let logits: [Float] = [2.0, 1.0, 0.5, -1.0, -3.0]
        let params = SamplingParameters(temperature: 1, topP: 0.8, seed: 9)
        let probs = Sampler.probabilities(logits, temperature: 1)
        let kept = Set(Sampler.nucleus(probs, topP: 0.8))
        #expect(kept == [0, 1])
        var sampler = Sampler(parameters: params)
        var counts = [Int](repeating: 0, count: 5)
        let draws = 20_000
        for _ in 0..<draws { counts[Int(sampler.sample(logits))] += 1 }
        #expect(counts[2] == 0 && counts[3] == 0 && counts[4] == 0)
        let expected0 = probs[0] / (probs[0] + probs[1])
        #expect(abs(Double(counts[0]) / Double(draws) - expected0) < 0.02)
    }
}

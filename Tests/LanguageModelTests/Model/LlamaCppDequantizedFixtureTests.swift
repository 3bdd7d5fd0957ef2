import Foundation
import LanguageModelTesting
import Testing
@testable import LanguageModel

/// llama.cpp's logits on the same model with every tensor dequantised to Float32
/// (Tests/LanguageModelTests/Fixtures/llamacpp-f32, written by scripts/llamacpp_f32_fixtures.py).
///
/// On quantised weights llama.cpp rounds the activations to 8 bits before every matrix product,
/// which adds noise; on Float32 weights it computes the exact function. So this is the tight
/// check of fidelity, with this project's exact arithmetic (``ActivationPrecision/float32``) on
/// the quantised file: same RoPE pairing and base, RMSNorm ε, attention scale, GQA head mapping,
/// SwiGLU and tied output as llama.cpp, to Float32 rounding.
private struct DequantizedFixture: Decodable {
    let n_tokens: Int
    let top1_per_position: [Int]
    let top2_margin_per_position: [Double]
    let last_logits_file: String

    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llamacpp-f32").path + "/"
    }

    static func load(_ name: String) throws -> (DequantizedFixture, [Float]) {
        let fixture = try JSONDecoder().decode(DequantizedFixture.self, from: Data(contentsOf: URL(fileURLWithPath: directory + name + ".json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + fixture.last_logits_file))
        let logits = raw.withUnsafeBytes { b in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (fixture, logits)
    }
}

/// The prompt ids of the quantised llama.cpp fixtures (shared with ``LlamaCppFixtureTests``).
private struct PromptIDs: Decodable {
    let ids: [Int32]
    static func load(_ name: String) throws -> [Int32] {
        let path = ModelTestSupport.fixturesDirectory + "/llamacpp-smollm2/logits/" + name + ".json"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("fixture \(path) is missing (set ACTQKV_FIXTURES)")
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(PromptIDs.self, from: Data(contentsOf: URL(fileURLWithPath: path))).ids
    }
}

@Suite("Forward pass against llama.cpp on the Float32-dequantised model (exact activations)")
struct LlamaCppDequantizedFixtureTests {
    @Test("prefill: argmax at every position, last-position KL < 1e-5 nats and max |Δlogit| < 0.01",
          arguments: ["short", "medium", "long"])
    func prefillMatchesExactly(name: String) throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let (fixture, reference) = try DequantizedFixture.load(name)
        let ids = try PromptIDs.load(name)
        let vocab = model.config.vocabularySize
        try #require(ids.count == fixture.n_tokens && reference.count == vocab)

        let cache = model.makeDenseCache(capacity: ids.count + 1)
        var argmaxes = [Int](), last = [Float]()
        var start = 0
        while start < ids.count {
            let end = min(ids.count, start + 200)
            let logits = try model.forward(tokens: Array(ids[start..<end]), attention: cache, logits: .all)
            for r in 0..<(end - start) { argmaxes.append(ModelTestSupport.argmax(logits[(r * vocab)..<((r + 1) * vocab)])) }
            if end == ids.count { last = Array(logits[((end - start - 1) * vocab)...]) }
            start = end
        }
        // Every position whose best two logits are not tied to Float32 rounding (1e-3) agrees.
        let decided = fixture.top1_per_position.indices.filter { fixture.top2_margin_per_position[$0] >= 1e-3 }
        let disagreements = decided.filter { argmaxes[$0] != fixture.top1_per_position[$0] }
        #expect(disagreements.isEmpty, "argmax differs at positions \(disagreements) of \(ids.count)")
        #expect(decided.count >= ids.count - 2)
        let kl = ModelTestSupport.klDivergence(reference: reference, candidate: last)
        let maxDelta = zip(last, reference).map { abs($0 - $1) }.max()!
        #expect(kl < 1e-5, "KL(llama.cpp F32 ‖ ours) = \(kl) nats")
        #expect(maxDelta < 0.01, "max |Δlogit| = \(maxDelta)")
        print("dequantised fixture \(name): \(ids.count) tokens, argmax equal at \(decided.count - disagreements.count)/\(decided.count) decided positions, KL \(kl) nats, max |Δlogit| \(maxDelta)")
    }

    @Test("decode: the last token through the single-token (quantised-block) path gives the same logits",
          arguments: ["short", "long"])
    func decodeMatchesExactly(name: String) throws {
        let model = try ModelTestSupport.loadRealModel(activations: .float32)
        let (_, reference) = try DequantizedFixture.load(name)
        let ids = try PromptIDs.load(name)
        let cache = model.makeDenseCache(capacity: ids.count + 1)
        _ = try model.forward(tokens: Array(ids.dropLast()), attention: cache, logits: .none)
        let last = try model.forward(tokens: [ids.last!], attention: cache, logits: .last)
        let kl = ModelTestSupport.klDivergence(reference: reference, candidate: last)
        let maxDelta = zip(last, reference).map { abs($0 - $1) }.max()!
        #expect(ModelTestSupport.argmax(last[...]) == ModelTestSupport.argmax(reference[...]))
        #expect(kl < 1e-5, "KL(llama.cpp F32 ‖ ours, decode) = \(kl) nats")
        #expect(maxDelta < 0.01, "max |Δlogit| = \(maxDelta)")
    }
}

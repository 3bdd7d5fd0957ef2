import Foundation
import LanguageModel
import Testing

/// Shared helpers of the forward-pass and worker tests: where the real model and the llama.cpp
/// fixtures are, and one loaded copy of the real model for all tests of the process.
package enum ModelTestSupport {
    /// `ACTQKV_MODEL`, else the default cache path.
    package static var modelPath: String { KnownModel.path(for: nil) }

    /// `ACTQKV_FIXTURES`, else `<package root>/../shared/fixtures`.
    package static var fixturesDirectory: String {
        if let p = ProcessInfo.processInfo.environment["ACTQKV_FIXTURES"], !p.isEmpty { return p }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }

    /// `ACTQKV_GEMMA_MODEL`, else Gemma 3 270M's cache path.
    package static var gemmaModelPath: String {
        if let p = ProcessInfo.processInfo.environment["ACTQKV_GEMMA_MODEL"], !p.isEmpty { return p }
        return KnownModel.gemma3_270m.cachePath
    }

    /// The real model with the default 8-bit activations, loaded once per test process.
    package static let realModel = load(modelPath, activations: .int8, fetch: "scripts/fetch-model.sh or set ACTQKV_MODEL")
    /// The real model with Float32 activations (the exact product of the stored weights).
    package static let realModelExact = load(modelPath, activations: .float32, fetch: "scripts/fetch-model.sh or set ACTQKV_MODEL")
    /// Gemma 3 270M with the default 8-bit activations, loaded once per test process.
    package static let gemmaModel = load(gemmaModelPath, activations: .int8, fetch: "scripts/fetch-model.sh gemma3-270m or set ACTQKV_GEMMA_MODEL")
    /// Gemma 3 270M with Float32 activations.
    package static let gemmaModelExact = load(gemmaModelPath, activations: .float32, fetch: "scripts/fetch-model.sh gemma3-270m or set ACTQKV_GEMMA_MODEL")

    private static func load(_ path: String, activations: ActivationPrecision, fetch: String) -> Result<DecoderModel, ModelError> {
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(.fileUnreadable(path: path, reason: "model file missing: run \(fetch)"))
        }
        return Result { () throws(ModelError) in try DecoderModel(path: path, prefillChunk: 256, activations: activations) }
    }

    /// Gemma 3 270M run with `activations`, or a test failure explaining why it is unavailable.
    package static func loadGemmaModel(activations: ActivationPrecision = .int8) throws -> DecoderModel {
        switch activations == .int8 ? gemmaModel : gemmaModelExact {
        case .success(let m): return m
        case .failure(let e):
            Issue.record("Gemma 3 270M could not be loaded: \(e)")
            throw e
        }
    }

    /// The real model run with `activations` (default: the model's default, 8-bit), or a test
    /// failure explaining why it is unavailable.
    package static func loadRealModel(activations: ActivationPrecision = .int8) throws -> DecoderModel {
        switch activations == .int8 ? realModel : realModelExact {
        case .success(let m): return m
        case .failure(let e):
            Issue.record("the real model could not be loaded: \(e)")
            throw e
        }
    }

    /// Index of the largest value (lowest index on ties).
    package static func argmax(_ v: ArraySlice<Float>) -> Int {
        var best = -Float.infinity, index = v.startIndex
        for i in v.indices where v[i] > best { best = v[i]; index = i }
        return index - v.startIndex
    }

    /// Indices of the `k` largest values, best first.
    package static func topK(_ v: [Float], _ k: Int) -> [Int] {
        Array(v.indices.sorted { v[$0] != v[$1] ? v[$0] > v[$1] : $0 < $1 }.prefix(k))
    }

    /// KL(p ‖ q) in nats between the softmax distributions of two logit vectors, in Float64.
    package static func klDivergence(reference p: [Float], candidate q: [Float]) -> Double {
        func logSoftmax(_ l: [Float]) -> [Double] {
            let m = Double(l.max()!)
            let z = l.reduce(0.0) { $0 + exp(Double($1) - m) }
            return l.map { Double($0) - m - log(z) }
        }
        let lp = logSoftmax(p), lq = logSoftmax(q)
        var kl = 0.0
        for i in lp.indices { kl += exp(lp[i]) * (lp[i] - lq[i]) }
        return kl
    }
}

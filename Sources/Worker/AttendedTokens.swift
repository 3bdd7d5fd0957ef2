import Foundation
import LanguageModel

/// Which past tokens the query of one execution chunk attended, per layer: the sink, the
/// recalled blocks and everything from `recentStart` on (out-of-window remainder and window).
/// Tokens of closed blocks that were not recalled are the only ones left out.
public struct AttendedTokens: Sendable, Hashable {
    /// Sink tokens (positions 0..<sinkCount).
    public var sinkCount: Int
    /// Tokens per block b; block i covers sinkCount + i·b ..< sinkCount + (i+1)·b.
    public var blockSize: Int
    /// Closed blocks when the chunk started.
    public var closedBlocks: Int
    /// First position of the remainder when the chunk started.
    public var recentStart: Int
    /// Recalled block indices per model layer (empty for sliding-window layers, which attend
    /// only their window and are left out of recall measurements).
    public var recalled: [[Int]]

    /// Whether token `t` was attended by layer `layer`.
    public func contains(_ t: Int, layer: Int) -> Bool {
        if t < sinkCount || t >= recentStart { return true }
        let block = (t - sinkCount) / blockSize
        return recalled[layer].contains(block)
    }
}

/// Records, during a dense forward pass, the attention probabilities of ONE query position in
/// every global layer and head (true RoPE positions, Float64 softmax), so that the share of dense
/// attention mass a block method keeps can be measured (`actqkv eval`'s attention recall).
/// Keeps every key (Float32) of the sequence: use it where dense attention is affordable.
public final class DenseAttentionMass: AttentionBackend {
    /// The dense cache computing the actual outputs.
    public let dense: DenseAttentionCache
    /// The query position whose probabilities are recorded.
    public let target: Int
    /// probabilities[layer][head][t] for t ≤ target, once recorded.
    public private(set) var probabilities: [[[Double]]]
    private let config: ModelConfig
    private let ropes: [RotaryEmbedding]
    private var keys: [[Float]]

    /// - Parameters: `capacity` tokens for the dense cache; `target` the query position to record.
    public init(model: DecoderModel, capacity: Int, target: Int) {
        dense = model.makeDenseCache(capacity: capacity)
        self.target = target
        config = model.config
        ropes = model.ropes
        keys = Array(repeating: [], count: model.config.layerCount)
        probabilities = Array(repeating: [], count: model.config.layerCount)
    }

    public var position: Int { dense.position }
    public func advance(by tokenCount: Int) { dense.advance(by: tokenCount) }

    public func attend(layer: Int, queries: UnsafePointer<Float>, keys newKeys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                       tokenCount n: Int, output: UnsafeMutablePointer<Float>) throws(ModelError) {
        let p0 = dense.position
        let rope = ropes[layer]
        guard config.layerAttention[layer] == .global else {
            // A sliding-window layer attends only its window: nothing a block method chooses.
            try dense.attend(layer: layer, queries: queries, keys: newKeys, values: values, tokenCount: n, output: output)
            return
        }
        let kw = config.kvWidth, d = config.headDimension, h = config.headCount
        var rows = Array(UnsafeBufferPointer(start: newKeys, count: n * kw))
        rows.withUnsafeMutableBufferPointer { r in rope.rotate(rows: n, r.baseAddress!, heads: config.kvHeadCount, startPosition: p0) }
        keys[layer].append(contentsOf: rows)
        try dense.attend(layer: layer, queries: queries, keys: newKeys, values: values, tokenCount: n, output: output)
        guard (p0..<(p0 + n)).contains(target) else { return }
        let i = target - p0
        var q = Array(UnsafeBufferPointer(start: queries + i * h * d, count: h * d))
        q.withUnsafeMutableBufferPointer { rope.rotate($0.baseAddress!, heads: h, position: target) }
        let scale = 1 / Double(d).squareRoot()
        var perHead: [[Double]] = []
        for head in 0..<h {
            let g = head / config.groupSize
            var logits = [Double](repeating: 0, count: target + 1)
            var m = -Double.infinity
            for t in 0...target {
                var dot = 0.0
                for j in 0..<d { dot += Double(q[head * d + j]) * Double(keys[layer][t * kw + g * d + j]) }
                logits[t] = dot * scale
                m = max(m, logits[t])
            }
            var z = 0.0
            for t in 0...target { logits[t] = exp(logits[t] - m); z += logits[t] }
            perHead.append(logits.map { $0 / z })
        }
        probabilities[layer] = perHead
    }

    /// Mean over layers and heads of the dense probability mass on the tokens `attended` kept.
    public func recall(of attended: AttendedTokens) -> Double {
        var total = 0.0, count = 0
        for (layer, heads) in probabilities.enumerated() where !heads.isEmpty {
            for probs in heads {
                var kept = 0.0
                for (t, p) in probs.enumerated() where attended.contains(t, layer: layer) { kept += p }
                total += kept; count += 1
            }
        }
        return count > 0 ? total / Double(count) : 0
    }
}

import ActQKV
import CoreTypes
import Foundation
@testable import LanguageModel
@testable import Worker

/// The exact reference for ActQKV attention with every block recalled and clean masking, in
/// Float64: dense causal attention in which
/// - a key at distance δ = p − t < W is seen at its true RoPE distance, and every older key
///   (sink, closed block or out-of-window remainder) at the fixed distance W − 1 (query rotated
///   to W − 1, key un-rotated), as the block memory does;
/// - K and V of a token that sits in a closed block when the query's execution chunk starts are
///   rounded to fp16 (that is how they come back from kvd); sink and remainder stay Float32.
///
/// Which tokens are in blocks follows the token life cycle (docs/ACTQKV.md §"Token life cycle"), derived here
/// independently of `LayerMemory`: after a chunk ending at P the sink holds min(S, max(0, P − W))
/// tokens and, once it is full, ⌊(P − S − W)/b⌋ blocks cover [S, S + nb·b).
/// The model calls ``attend`` with the same chunk schedule as the session under test.
///
/// A sliding-window layer (Gemma 3) is computed exactly: true RoPE distances, Float32 K/V, only
/// the keys of its window — what the worker's in-process window must equal.
final class ClampedDenseReference: AttentionBackend {
    let config: ModelConfig
    let retrieval: RetrievalConfig
    private(set) var position = 0
    private var keys: [[Double]]       // [layer][token · kvWidth] raw
    private var values: [[Double]]
    private var keys16: [[Double]]     // fp16-rounded
    private var values16: [[Double]]
    private var rotatedKeys: [[Double]]  // raw keys rotated at their absolute position

    init(config: ModelConfig, retrieval: RetrievalConfig) {
        self.config = config; self.retrieval = retrieval
        let l = config.layerCount
        keys = Array(repeating: [], count: l); values = keys; keys16 = keys; values16 = keys; rotatedKeys = keys
    }

    func advance(by tokenCount: Int) { position += tokenCount }

    /// Positions held in closed blocks when a chunk starting at `p0` is processed.
    func blockRange(chunkStart p0: Int) -> Range<Int> {
        let s = retrieval.sinkTokens, w = retrieval.localWindow, b = retrieval.blockSize
        guard p0 - w >= s else { return s..<s }
        return s..<(s + ((p0 - s - w) / b) * b)
    }

    private func rotate(_ x: inout [Double], offset: Int, position: Int, layer: Int) {
        let d = config.headDimension, half = d / 2
        let (step, other) = config.rotaryPairing == .interleaved ? (2, 1) : (1, half)
        for i in 0..<half {
            let a = RotaryEmbedding.angle(position: position, pair: i, ropeDimension: config.ropeDimension,
                                          base: config.ropeFrequencyBase(layer: layer))
            let c = cos(a), s = sin(a)
            let x0 = x[offset + step * i], x1 = x[offset + step * i + other]
            x[offset + step * i] = x0 * c - x1 * s
            x[offset + step * i + other] = x0 * s + x1 * c
        }
    }

    func attend(layer: Int, queries: UnsafePointer<Float>, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                tokenCount n: Int, output: UnsafeMutablePointer<Float>) throws(ModelError) {
        let d = config.headDimension, h = config.headCount, kw = config.kvWidth, g = config.groupSize
        let w = retrieval.localWindow
        let p0 = position
        for i in 0..<(n * kw) {
            keys[layer].append(Double(newKeys[i])); values[layer].append(Double(newValues[i]))
            keys16[layer].append(Double(HalfFloat.float(fromFP16: HalfFloat.fp16(from: newKeys[i]))))
            values16[layer].append(Double(HalfFloat.float(fromFP16: HalfFloat.fp16(from: newValues[i]))))
        }
        for t in 0..<n {
            var row = (0..<kw).map { Double(newKeys[t * kw + $0]) }
            for kv in 0..<config.kvHeadCount { rotate(&row, offset: kv * d, position: p0 + t, layer: layer) }
            rotatedKeys[layer].append(contentsOf: row)
        }
        let slidingWindow = config.layerAttention[layer].window
        let blocks = blockRange(chunkStart: p0)
        let scale = 1 / Double(d).squareRoot()
        var logits = [Double](repeating: 0, count: p0 + n)
        for i in 0..<n {
            let p = p0 + i
            for head in 0..<h {
                let kv = head / g
                var qAbs = (0..<d).map { Double(queries[i * h * d + head * d + $0]) }
                var qMem = qAbs
                rotate(&qAbs, offset: 0, position: p, layer: layer)
                rotate(&qMem, offset: 0, position: w - 1, layer: layer)
                var maxLogit = -Double.infinity
                let first = slidingWindow.map { max(0, p + 1 - $0) } ?? 0
                for t in 0..<first { logits[t] = -Double.infinity }
                for t in first...p {
                    var dot = 0.0
                    if p - t < w || slidingWindow != nil {
                        let base = t * kw + kv * d
                        for j in 0..<d { dot += qAbs[j] * rotatedKeys[layer][base + j] }
                    } else {
                        let src = blocks.contains(t) ? keys16[layer] : keys[layer]
                        let base = t * kw + kv * d
                        for j in 0..<d { dot += qMem[j] * src[base + j] }
                    }
                    logits[t] = dot * scale
                    maxLogit = max(maxLogit, logits[t])
                }
                var z = 0.0
                for t in 0...p { logits[t] = exp(logits[t] - maxLogit); z += logits[t] }
                var acc = [Double](repeating: 0, count: d)
                for t in first...p {
                    let src = (p - t >= w && blocks.contains(t) && slidingWindow == nil) ? values16[layer] : values[layer]
                    let base = t * kw + kv * d
                    let weight = logits[t] / z
                    for j in 0..<d { acc[j] += weight * src[base + j] }
                }
                for j in 0..<d { output[i * h * d + head * d + j] = Float(acc[j]) }
            }
        }
    }
}

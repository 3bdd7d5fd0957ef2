import Foundation
@testable import LanguageModel

/// A deliberately plain Float64 Llama forward pass (no caching, no batching, no BLAS), written
/// from the architecture's definition, used as the oracle for ``DecoderModel``.
struct ReferenceLlama {
    struct Layer {
        var attentionNorm: [Double]
        var wq: [Double], wk: [Double], wv: [Double], wo: [Double]  // row-major out × in
        var ffnNorm: [Double]
        var wGate: [Double], wUp: [Double], wDown: [Double]
    }

    var config: ModelConfig
    var embedding: [Double]  // vocab × e
    var layers: [Layer]
    var outputNorm: [Double]
    var output: [Double]  // vocab × e

    private func matvec(_ w: [Double], _ x: [Double], rows: Int) -> [Double] {
        let cols = x.count
        return (0..<rows).map { r in
            var s = 0.0
            for c in 0..<cols { s += w[r * cols + c] * x[c] }
            return s
        }
    }

    private func rmsNorm(_ x: [Double], _ w: [Double]) -> [Double] {
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let scale = 1 / (ms + Double(config.rmsNormEpsilon)).squareRoot()
        return zip(x, w).map { $0 * scale * $1 }
    }

    /// Rotates adjacent pairs of each head (llama.cpp NORMAL mode).
    private func rope(_ x: [Double], heads: Int, position: Int) -> [Double] {
        var y = x
        let d = config.headDimension, rd = config.ropeDimension
        for h in 0..<heads {
            for i in 0..<(rd / 2) {
                let theta = Double(position) * pow(Double(config.ropeFrequencyBase), -2 * Double(i) / Double(rd))
                let a = x[h * d + 2 * i], b = x[h * d + 2 * i + 1]
                y[h * d + 2 * i] = a * cos(theta) - b * sin(theta)
                y[h * d + 2 * i + 1] = a * sin(theta) + b * cos(theta)
            }
        }
        return y
    }

    /// Logits (`vocabularySize` each) at every position of `tokens`.
    func logits(tokens: [Int32]) -> [[Double]] {
        let e = config.embeddingLength, d = config.headDimension
        let h = config.headCount, hkv = config.kvHeadCount, f = config.feedForwardLength
        var xs = tokens.map { Array(embedding[(Int($0) * e)..<(Int($0) * e + e)]) }
        for layer in layers {
            var qs = [[Double]](), ks = [[Double]](), vs = [[Double]]()
            for (p, x) in xs.enumerated() {
                let n = rmsNorm(x, layer.attentionNorm)
                qs.append(rope(matvec(layer.wq, n, rows: h * d), heads: h, position: p))
                ks.append(rope(matvec(layer.wk, n, rows: hkv * d), heads: hkv, position: p))
                vs.append(matvec(layer.wv, n, rows: hkv * d))
            }
            for p in xs.indices {
                var attended = [Double](repeating: 0, count: h * d)
                for head in 0..<h {
                    let g = head / (h / hkv)
                    var scores = (0...p).map { j in
                        var s = 0.0
                        for i in 0..<d { s += qs[p][head * d + i] * ks[j][g * d + i] }
                        return s / Double(d).squareRoot()
                    }
                    let m = scores.max()!
                    scores = scores.map { exp($0 - m) }
                    let z = scores.reduce(0, +)
                    for j in 0...p {
                        for i in 0..<d { attended[head * d + i] += scores[j] / z * vs[j][g * d + i] }
                    }
                }
                let o = matvec(layer.wo, attended, rows: e)
                var x = zip(xs[p], o).map(+)
                let n = rmsNorm(x, layer.ffnNorm)
                let gate = matvec(layer.wGate, n, rows: f), up = matvec(layer.wUp, n, rows: f)
                let act = zip(gate, up).map { g, u in g / (1 + exp(-g)) * u }
                x = zip(x, matvec(layer.wDown, act, rows: e)).map(+)
                xs[p] = x
            }
        }
        return xs.map { matvec(output, rmsNorm($0, outputNorm), rows: config.vocabularySize) }
    }
}

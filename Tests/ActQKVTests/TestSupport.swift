import CoreTypes
import Foundation
@testable import ActQKV

/// Deterministic pseudo-random numbers (CoreTypes' SplitMix64) so every test is reproducible.
struct SeededRandom: RandomNumberGenerator {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float { Float.random(in: lo..<hi, using: &self) }
    /// `n` uniform floats in [lo, hi); never all zero.
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
}

/// Float64 RoPE of one head vector at `position` (reference for tests).
func ropeReference(_ x: [Double], position: Int, base: Double, convention: RoPEConvention) -> [Double] {
    let d = x.count, half = d / 2
    var y = x
    for i in 0..<half {
        let a = Double(position) * pow(base, -2 * Double(i) / Double(d))
        let (c, s) = (cos(a), sin(a))
        switch convention {
        case .neox: y[i] = x[i] * c - x[i + half] * s; y[i + half] = x[i + half] * c + x[i] * s
        case .interleaved: y[2 * i] = x[2 * i] * c - x[2 * i + 1] * s; y[2 * i + 1] = x[2 * i + 1] * c + x[2 * i] * s
        case .none: break
        }
    }
    return y
}

/// Float64 causal attention for token-major inputs: q `[T][H][d]`, k/v `[T][Hkv][d]`. Query p attends
/// to keys 0…p with the query rotated by `distance(p, t)` and the key unrotated (RoPE is relative).
/// Returns `[T][H][d]`.
func referenceAttention(q: [Float], k: [Float], v: [Float], tokens: Int, shape: AttentionShape, base: Double,
                        convention: RoPEConvention, distance: (Int, Int) -> Int) -> [Double] {
    let h = shape.heads, g = shape.kvHeads, d = shape.headDim
    var out = [Double](repeating: 0, count: tokens * h * d)
    for p in 0..<tokens {
        for head in 0..<h {
            let kvh = head / (h / g)
            let qv = (0..<d).map { Double(q[(p * h + head) * d + $0]) }
            var logits = [Double](repeating: 0, count: p + 1)
            for t in 0...p {
                let rq = ropeReference(qv, position: distance(p, t), base: base, convention: convention)
                var s = 0.0
                for j in 0..<d { s += rq[j] * Double(k[(t * g + kvh) * d + j]) }
                logits[t] = s / Double(d).squareRoot()
            }
            let m = logits.max()!
            let e = logits.map { exp($0 - m) }
            let z = e.reduce(0, +)
            for t in 0...p {
                for j in 0..<d { out[(p * h + head) * d + j] += e[t] / z * Double(v[(t * g + kvh) * d + j]) }
            }
        }
    }
    return out
}

/// max |a − b| / max |b| (relative error against a reference, scaled by the reference's magnitude).
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in a.indices { num = max(num, abs(Double(a[i]) - b[i])); den = max(den, abs(b[i])) }
    return num / den
}

/// A whole layer stack of one session in one process: the worker side (LayerMemory per layer,
/// probes) and the daemon side (selection over the layer's closed blocks).
struct InProcessSession {
    var state: SessionState
    var memories: [LayerMemory]
    var blocks: [[ClosedBlock]]
    let method: RetrievalMethod
    var selections: [[LayerSelection]] = []   // [chunk][layer]

    init(config: RetrievalConfig, layers: Int, shape: AttentionShape, method: RetrievalMethod, rope: RotaryEmbedding) throws {
        state = try SessionState(config: config, layers: layers)
        memories = (0..<layers).map { _ in LayerMemory(shape: shape, config: config, method: method, rope: rope) }
        blocks = Array(repeating: [], count: layers)
        self.method = method
    }

    /// Runs one chunk through every layer with per-layer inputs `[layer]` (token-major); returns
    /// per-layer outputs.
    mutating func run(chunk: UInt64, mode: RetrievalMode, q: [[Float]], k: [[Float]], v: [[Float]], count: Int,
                      question: [[Float]]? = nil) throws -> [[Float]] {
        var outputs: [[Float]] = []
        var chunkSelections: [LayerSelection] = []
        for layer in memories.indices {
            var recalled: [BlockKV] = []
            if method != .dense {
                let rotated = try q[layer].withUnsafeBufferPointer { try memories[layer].probeQueries($0, count: count) }
                let probe = try rotated.withUnsafeBufferPointer { try state.probes.probe(layer: layer, method: method, queries: $0, count: count) }
                let keys = blocks[layer].flatMap(\.key)
                let n = blocks[layer].count
                let sel = try probe.vector.withUnsafeBufferPointer { p in
                    try keys.withUnsafeBufferPointer { kb in
                        if let u = question?[layer] {
                            return try u.withUnsafeBufferPointer { ub in
                                try state.selection.select(layer: layer, chunk: chunk, mode: mode, method: method, probe: p, question: ub, keys: kb, count: n)
                            }
                        }
                        return try state.selection.select(layer: layer, chunk: chunk, mode: mode, method: method, probe: p, question: nil, keys: kb, count: n)
                    }
                }
                chunkSelections.append(sel)
                recalled = sel.chosen.map { blocks[layer][$0].kv }
            }
            let (out, closed) = try memories[layer].process(queries: q[layer], keys: k[layer], values: v[layer], count: count, recalled: recalled)
            blocks[layer] += closed
            outputs.append(out)
        }
        selections.append(chunkSelections)
        return outputs
    }
}

/// Both halves of one session's retrieval state, as the worker (probes) and kvd (selection)
/// hold them, side by side in one process.
struct SessionState: Equatable {
    var probes: ProbeState
    var selection: SelectionState
    init(config: RetrievalConfig, layers: Int) throws {
        probes = try ProbeState(config: config, layers: layers)
        selection = try SelectionState(config: config, layers: layers)
    }
}

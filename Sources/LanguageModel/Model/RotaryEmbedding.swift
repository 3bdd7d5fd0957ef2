import Foundation

/// Rotary position embedding: within each head, pair i < ropeDimension/2 is rotated by the angle
/// position · θ^(−2i / ropeDimension); dimensions at or beyond `ropeDimension` are left unchanged.
/// Pair i is (x[2i], x[2i+1]) under ``RotaryPairing/interleaved`` (llama.cpp's NORMAL mode, the
/// mode of architecture `llama`, whose GGUF files store Q and K weights permuted for it) and
/// (x[i], x[i + ropeDimension/2]) under ``RotaryPairing/halves`` (NEOX mode, Gemma).
///
/// The cosine/sine table is computed once (in Double, stored as Float) for positions
/// `0..<tablePositions`; later positions are computed on the fly. Immutable after creation.
///
/// Not a duplicate of `ActQKV.RotaryEmbedding`: that one rotates one head vector of the full head
/// width under any pairing convention, for the retrieval method's re-rotation of stored keys;
/// this one is the forward pass's (partial `ropeDimension`, all heads of a row, a table covering
/// the model's context length), so the model library needs no ActQKV.
public final class RotaryEmbedding: Sendable {
    /// Floats per head.
    public let headDimension: Int
    /// Rotated dimensions per head (even, ≤ headDimension).
    public let ropeDimension: Int
    /// The base θ.
    public let frequencyBase: Float
    /// Which dimensions form a pair.
    public let pairing: RotaryPairing
    /// Number of positions with precomputed angles.
    public let tablePositions: Int
    private let cosTable: [Float]
    private let sinTable: [Float]

    /// Creates the table for positions `0..<tablePositions` (tokens).
    public init(headDimension: Int, ropeDimension: Int, frequencyBase: Float, tablePositions: Int, pairing: RotaryPairing = .interleaved) {
        precondition(ropeDimension % 2 == 0 && ropeDimension <= headDimension && ropeDimension > 0)
        self.headDimension = headDimension
        self.pairing = pairing
        self.ropeDimension = ropeDimension
        self.frequencyBase = frequencyBase
        self.tablePositions = max(0, tablePositions)
        let pairs = ropeDimension / 2
        var c = [Float](repeating: 0, count: self.tablePositions * pairs)
        var s = c
        // Per pair, the angle grows by θ_i per position: rotate (cos, sin) by it in Double,
        // re-anchored with exact cos/sin every 256 positions (drift stays ≪ Float precision).
        for i in 0..<pairs {
            let step = Self.angle(position: 1, pair: i, ropeDimension: ropeDimension, base: frequencyBase)
            let cs = cos(step), sn = sin(step)
            var cp = 1.0, sp = 0.0
            for p in 0..<self.tablePositions {
                if p % 256 == 0 {
                    let angle = Self.angle(position: p, pair: i, ropeDimension: ropeDimension, base: frequencyBase)
                    cp = cos(angle); sp = sin(angle)
                }
                c[p * pairs + i] = Float(cp)
                s[p * pairs + i] = Float(sp)
                (cp, sp) = (cp * cs - sp * sn, cp * sn + sp * cs)
            }
        }
        cosTable = c
        sinTable = s
    }

    /// Convenience: the rotary embedding of layer `layer` of a model configuration, with a
    /// table covering its trained context length.
    public convenience init(config: ModelConfig, layer: Int) {
        self.init(headDimension: config.headDimension, ropeDimension: config.ropeDimension,
                  frequencyBase: config.ropeFrequencyBase(layer: layer), tablePositions: config.contextLength,
                  pairing: config.rotaryPairing)
    }

    /// One rotary embedding per layer of `config`; layers with the same base share an instance.
    public static func perLayer(config: ModelConfig) -> [RotaryEmbedding] {
        var byBase: [Float: RotaryEmbedding] = [:]
        return (0..<config.layerCount).map { layer in
            let base = config.ropeFrequencyBase(layer: layer)
            if let rope = byBase[base] { return rope }
            let rope = RotaryEmbedding(config: config, layer: layer)
            byBase[base] = rope
            return rope
        }
    }

    /// The rotation angle (radians) of pair `pair` at token position `position`.
    public static func angle(position: Int, pair: Int, ropeDimension: Int, base: Float) -> Double {
        Double(position) * pow(Double(base), -2.0 * Double(pair) / Double(ropeDimension))
    }

    /// Rotates `heads` consecutive heads of `headDimension` floats at `vector`, all at the
    /// same token position, in place.
    public func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let pairs = ropeDimension / 2
        if position < tablePositions {
            cosTable.withUnsafeBufferPointer { cp in
                sinTable.withUnsafeBufferPointer { sp in
                    let c = cp.baseAddress! + position * pairs
                    let s = sp.baseAddress! + position * pairs
                    let (step, offset) = pairing == .interleaved ? (2, 1) : (1, pairs)
                    for h in 0..<heads {
                        let x = vector + h * headDimension
                        for i in 0..<pairs {
                            let a = x[step * i], b = x[step * i + offset]
                            x[step * i] = a * c[i] - b * s[i]
                            x[step * i + offset] = a * s[i] + b * c[i]
                        }
                    }
                }
            }
        } else {
            let (step, offset) = pairing == .interleaved ? (2, 1) : (1, pairs)
            for i in 0..<pairs {
                let angle = Self.angle(position: position, pair: i, ropeDimension: ropeDimension, base: frequencyBase)
                let c = Float(cos(angle)), s = Float(sin(angle))
                for h in 0..<heads {
                    let x = vector + h * headDimension
                    let a = x[step * i], b = x[step * i + offset]
                    x[step * i] = a * c - b * s
                    x[step * i + offset] = a * s + b * c
                }
            }
        }
    }

    /// Rotates `rows` consecutive tokens, each `heads · headDimension` floats, where row r sits
    /// at position `startPosition + r`.
    public func rotate(rows: Int, _ matrix: UnsafeMutablePointer<Float>, heads: Int, startPosition: Int) {
        let width = heads * headDimension
        for r in 0..<rows {
            rotate(matrix + r * width, heads: heads, position: startPosition + r)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a head vector's dimensions are paired for rotation.
public enum RoPEConvention: UInt8, Sendable, Hashable, CaseIterable {
    /// Rotate-half (GPT-NeoX / Hugging Face, docs/ACTQKV.md §"Rotary embedding"): pairs (x[i], x[i + d/2]).
    case neox = 0
    /// llama.cpp's normal mode: adjacent pairs (x[2i], x[2i+1]). The GGUF llama models use it.
    case interleaved = 1
    /// No rotation (identity at every position); for tests and position-free models.
    case none = 2
}

/// Rotary position embedding of one head vector of `headDim` floats: pair i is rotated by angle
/// p·ω_i, ω_i = θ^(−2i/d). Angles and their cosines/sines are computed in Float64 and rounded once,
/// so rotations at large positions stay accurate. Positions are in tokens (≥ 0).
public struct RotaryEmbedding: Sendable, Hashable {
    /// d: floats per head. Pairs are formed from the first 2·⌊d/2⌋ dimensions (for `.neox`, (i, i + ⌊d/2⌋));
    /// with an odd d the last dimension is left unrotated.
    public let headDim: Int
    /// θ: frequency base (e.g. 10 000, 100 000, 500 000).
    public let base: Double
    /// Pairing convention.
    public let convention: RoPEConvention
    /// cos/sin for positions 0..<tablePositions, [position][d/2].
    private let cosTable: [Float]
    private let sinTable: [Float]
    private let tablePositions: Int

    /// - Parameters: `tablePositions` positions are precomputed (others are computed on use).
    public init(headDim: Int, base: Double, convention: RoPEConvention, tablePositions: Int = 1024) {
        self.headDim = headDim; self.base = base; self.convention = convention
        let half = max(headDim, 0) / 2
        let n = convention == .none || half == 0 ? 0 : max(tablePositions, 0)
        var c = [Float](repeating: 1, count: n * half), s = [Float](repeating: 0, count: n * half)
        for p in 0..<n {
            for i in 0..<half {
                let a = Double(p) * Self.frequency(i, headDim: headDim, base: base)
                c[p * half + i] = Float(cos(a)); s[p * half + i] = Float(sin(a))
            }
        }
        cosTable = c; sinTable = s; self.tablePositions = n
    }

    /// ω_i = θ^(−2i/d) in Float64.
    public static func frequency(_ i: Int, headDim: Int, base: Double) -> Double {
        pow(base, -2 * Double(i) / Double(headDim))
    }

    /// Rotates `x[0..<headDim]` in place to `position`.
    public func apply(_ x: UnsafeMutablePointer<Float>, position: Int) {
        let half = max(headDim, 0) / 2
        if convention == .none || half == 0 { return }
        if position >= 0 && position < tablePositions {
            cosTable.withUnsafeBufferPointer { cb in
                sinTable.withUnsafeBufferPointer { sb in
                    rotate(x, cos: cb.baseAddress! + position * half, sin: sb.baseAddress! + position * half)
                }
            }
        } else {
            var c = [Float](repeating: 0, count: half), s = [Float](repeating: 0, count: half)
            for i in 0..<half {
                let a = Double(position) * Self.frequency(i, headDim: headDim, base: base)
                c[i] = Float(cos(a)); s[i] = Float(sin(a))
            }
            rotate(x, cos: c, sin: s)
        }
    }

    @inline(__always)
    private func rotate(_ x: UnsafeMutablePointer<Float>, cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>) {
        let half = max(headDim, 0) / 2
        switch convention {
        case .neox:
            for i in 0..<half {
                let a = x[i], b = x[i + half]
                x[i] = a * c[i] - b * s[i]
                x[i + half] = b * c[i] + a * s[i]
            }
        case .interleaved:
            for i in 0..<half {
                let a = x[2 * i], b = x[2 * i + 1]
                x[2 * i] = a * c[i] - b * s[i]
                x[2 * i + 1] = b * c[i] + a * s[i]
            }
        case .none:
            break
        }
    }
}

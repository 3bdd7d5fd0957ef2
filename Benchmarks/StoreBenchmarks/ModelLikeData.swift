import CoreTypes
import Foundation
import KVStore

/// Deterministic K/V payloads that look like a transformer's (for benchmarks and tests): 16-bit
/// values drawn from a normal distribution with per-channel scales (log-normal, σ = 0.7) and,
/// for K, per-channel offsets (5 % outlier channels with large means), as real K caches have.
/// Not zeros, not uniform noise — the compression ratio on this data is meaningful.
public enum ModelLikeData {
    /// One block's raw payload (`descriptor.payloadBytes` bytes, K then V, little-endian
    /// fp16 or bf16 per `descriptor.elementType`). The channel statistics depend only on the
    /// descriptor's shape (they are the "model"); the values depend on `seed`.
    public static func payload(descriptor d: ModelDescriptor, seed: UInt64) -> [UInt8] {
        var fixed = SplitMix64(seed: 42)
        let channels = d.kvHeads * d.headDim
        var scale = [Double](repeating: 0, count: channels)
        var mean = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            scale[c] = 0.6 * exp(0.7 * normal(&fixed))
            mean[c] = uniform(&fixed) < 0.05 ? 4 * normal(&fixed) : 0.3 * normal(&fixed)
        }
        var rng = SplitMix64(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(d.payloadBytes)
        for part in 0..<2 {  // 0 = K, 1 = V
            for h in 0..<d.kvHeads {
                for _ in 0..<d.blockSize {
                    for j in 0..<d.headDim {
                        let c = h * d.headDim + j
                        let value = Float((part == 0 ? mean[c] : 0) + scale[c] * normal(&rng))
                        let bits: UInt16 = switch d.elementType {
                        case .fp16: Float16(value).bitPattern
                        case .bf16: UInt16(truncatingIfNeeded: value.bitPattern >> 16)
                        }
                        out.append(UInt8(bits & 0xff))
                        out.append(UInt8(bits >> 8))
                    }
                }
            }
        }
        return out
    }

    /// A representative key: `descriptor.vectorDimension` standard-normal floats from `seed`.
    public static func representativeKey(descriptor d: ModelDescriptor, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed ^ 0xABCDEF)
        return (0..<d.vectorDimension).map { _ in Float(normal(&rng)) }
    }

    static func uniform(_ g: inout SplitMix64) -> Double { Double(g.next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    static func normal(_ g: inout SplitMix64) -> Double {
        let u1 = max(uniform(&g), 1e-300), u2 = uniform(&g)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

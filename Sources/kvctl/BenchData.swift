import CoreTypes
import KVClient
import Protocol

/// K/V blocks that look like a model's: per-channel scales spread over two orders of magnitude
/// (a few outlier channels, as in real keys), a per-channel mean, and values that drift slowly
/// from token to token (AR(1)), stored as fp16 — neither zeros nor uniform noise, so the
/// compression ratio is meaningful.
struct BenchData {
    let descriptor: ModelDescriptor
    /// `poolSize` distinct payloads, cycled (each block is compressed on its own, so cycling
    /// does not flatter the ratio).
    let payloads: [[UInt8]]
    /// One representative key per block index modulo `keys.count` (D floats each).
    let keys: [[Float]]

    init(descriptor: ModelDescriptor, poolSize: Int = 64, keyCount: Int = 1024, seed: UInt64 = 1) {
        self.descriptor = descriptor
        var random = SplitMix64(seed: seed)
        let heads = descriptor.kvHeads, dim = descriptor.headDim, tokens = descriptor.blockSize
        // Channel statistics shared by all blocks (the model's), separately for K and V.
        func channelStats(outliers: Bool) -> (scale: [Float], mean: [Float]) {
            var scale = [Float](), mean = [Float]()
            for _ in 0..<(heads * dim) {
                var s = Float(exp(Double(random.gaussian()) * 0.8)) * 0.5
                if outliers && random.nextOpenUnitFloat() > 0.97 { s *= 12 }
                scale.append(s)
                mean.append(random.gaussian() * s * 0.5)
            }
            return (scale, mean)
        }
        let kStats = channelStats(outliers: true)
        let vStats = channelStats(outliers: false)
        var pool: [[UInt8]] = []
        for _ in 0..<poolSize {
            var bytes = [UInt8]()
            bytes.reserveCapacity(descriptor.payloadBytes)
            for stats in [kStats, vStats] {
                for h in 0..<heads {
                    var state = [Float](repeating: 0, count: dim)
                    for c in 0..<dim { state[c] = random.gaussian() }
                    for _ in 0..<tokens {
                        for c in 0..<dim {
                            state[c] = 0.9 * state[c] + 0.436 * random.gaussian()
                            let i = h * dim + c
                            let bits = Float16(stats.mean[i] + stats.scale[i] * state[c]).bitPattern
                            bytes.append(UInt8(truncatingIfNeeded: bits))
                            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
                        }
                    }
                }
            }
            pool.append(bytes)
        }
        payloads = pool
        keys = (0..<keyCount).map { _ in (0..<descriptor.vectorDimension).map { _ in random.gaussian() } }
    }

    /// The block at `position` of `layer`.
    func block(layer: Int, position: Int) -> BlockRecord {
        BlockRecord(
            layer: UInt16(layer), position: UInt32(position),
            prefixHash: PrefixHash(high: UInt64(layer), low: UInt64(position)),
            representativeKey: keys[position % keys.count], payload: payloads[position % payloads.count][...])
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension SplitMix64 {
    /// Standard normal (Box–Muller, in Double).
    mutating func gaussian() -> Float {
        let u = Double(nextOpenUnitFloat()), v = Double(nextOpenUnitFloat())
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}

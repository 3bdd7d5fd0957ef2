import CoreTypes
import Protocol

/// Model descriptors of the shapes the tests and benchmarks use, and deterministic K/V-like data.
enum ModelShapes {
    /// SmolLM2-135M: 30 layers, 9 query heads, 3 KV heads, d = 64, b = 32, fp16.
    static let smolLM2 = ModelDescriptor(
        layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 0x5A01_135D)
    /// A small shape for fast tests: 2 layers, 4 query heads, 2 KV heads, d = 16, b = 8.
    static let tiny = ModelDescriptor(
        layers: 2, queryHeads: 4, kvHeads: 2, headDim: 16, elementType: .fp16, blockSize: 8, fingerprint: 0x7171)

    /// A block for `layer`/`position` of `session`-seeded content: a non-zero representative key
    /// and a payload of fp16 bit patterns that are never all equal.
    static func block(_ descriptor: ModelDescriptor, layer: Int, position: Int, seed: UInt64) -> BlockRecord {
        var generator = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(layer) &* 7919 &+ UInt64(position))
        let key = (0..<descriptor.vectorDimension).map { _ in generator.nextSignedUnitFloat() }
        var payload = [UInt8](repeating: 0, count: descriptor.payloadBytes)
        for i in stride(from: 0, to: payload.count, by: 2) {
            let value = Float16(generator.nextSignedUnitFloat() * 4)
            payload[i] = UInt8(truncatingIfNeeded: value.bitPattern)
            payload[i + 1] = UInt8(truncatingIfNeeded: value.bitPattern >> 8)
        }
        return BlockRecord(
            layer: UInt16(layer), position: UInt32(position),
            prefixHash: PrefixHash(high: seed, low: UInt64(layer) << 32 | UInt64(position)),
            representativeKey: key, payload: payload[...])
    }
}

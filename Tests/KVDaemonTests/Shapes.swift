import CoreTypes
import Protocol

/// A small model shape and deterministic non-zero blocks for it.
enum Shapes {
    static let tiny = ModelDescriptor(layers: 3, queryHeads: 4, kvHeads: 2, headDim: 8, elementType: .fp16, blockSize: 4, fingerprint: 99)

    static func block(layer: Int, position: Int, seed: UInt64 = 1) -> BlockRecord {
        let d = tiny
        var x = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(layer * 1000 + position)
        func next() -> UInt64 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return x >> 33
        }
        return BlockRecord(
            layer: UInt16(layer), position: UInt32(position), prefixHash: PrefixHash(high: seed, low: UInt64(layer * 1000 + position)),
            representativeKey: (0..<d.vectorDimension).map { _ in Float(Int(next() % 2001) - 1000) / 1000 },
            payload: (0..<d.payloadBytes).map { _ in UInt8(truncatingIfNeeded: next()) }[...])
    }
}

import CoreTypes
import KVClient
import Protocol

/// The deterministic blocks of the crash driver: the content of (cycle, layer, position) is a
/// pure function of the run's seed, so any stored block can be checked byte for byte after a
/// restart without keeping what was sent.
struct CrashBlocks {
    /// 4 layers, 2 query heads, 1 KV head, d = 64, b = 16, fp16: 4 KiB payloads (K and V),
    /// 128-float representative keys — small, so a cycle appends hundreds of blocks.
    static let shape = ModelDescriptor(
        layers: 4, queryHeads: 2, kvHeads: 1, headDim: 64, elementType: .fp16, blockSize: 16, fingerprint: 0xC4A5_4C1E)

    /// Seed of the run.
    let seed: UInt64

    /// The session written in `cycle`.
    static func session(_ cycle: Int) -> String { "crash-\(cycle)" }

    private func generator(cycle: Int, layer: Int, position: Int) -> SplitMix64 {
        SplitMix64(seed: seed &* 0x1_0000_01B3 &+ UInt64(cycle) &* 1_000_003 &+ UInt64(layer) &* 7919 &+ UInt64(position))
    }

    /// The payload stored at `position` of `layer` in the session of `cycle`: fp16 values in
    /// [-4, 4), `shape.payloadBytes` bytes.
    func payload(cycle: Int, layer: Int, position: Int) -> [UInt8] {
        var g = SplitMix64(seed: generator(cycle: cycle, layer: layer, position: position).state ^ 0x5A5A_5A5A_5A5A_5A5A)
        var payload = [UInt8](repeating: 0, count: Self.shape.payloadBytes)
        for i in stride(from: 0, to: payload.count, by: 2) {
            let bits = Float16(g.nextSignedUnitFloat() * 4).bitPattern
            payload[i] = UInt8(truncatingIfNeeded: bits)
            payload[i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
        }
        return payload
    }

    /// The block appended at `position` of `layer` in the session of `cycle`.
    func block(cycle: Int, layer: Int, position: Int) -> BlockRecord {
        var g = generator(cycle: cycle, layer: layer, position: position)
        let key = (0..<Self.shape.vectorDimension).map { _ in g.nextSignedUnitFloat() }
        return BlockRecord(
            layer: UInt16(layer), position: UInt32(position),
            prefixHash: PrefixHash(high: seed ^ UInt64(cycle) << 32, low: UInt64(layer) << 32 | UInt64(position)),
            representativeKey: key, payload: payload(cycle: cycle, layer: layer, position: position)[...])
    }
}

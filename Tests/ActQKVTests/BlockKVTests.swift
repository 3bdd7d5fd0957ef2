import Testing
@testable import ActQKV

@Suite("KVBlock16")
struct BlockKVTests {
    @Test("16-bit storage: K then V, serialised little-endian, widened exactly", arguments: [KVElementType.fp16, .bf16])
    func roundTrip(type: KVElementType) throws {
        let shape = try AttentionShape(heads: 9, kvHeads: 3, headDim: 64)
        var rng = SeededRandom(seed: 17)
        let n = shape.kvWidth * 32
        let block = BlockKV(tokens: 32, keys: rng.floats(n), values: rng.floats(n))
        let stored = KVBlock16(block, as: type)
        #expect(stored.storage.count == 2 * n)
        let bytes = stored.bytes
        #expect(bytes.count == 4 * n)
        let back = try bytes.withUnsafeBytes { try KVBlock16(bytes: $0, as: type, shape: shape, tokens: 32) }
        #expect(back == stored)
        let wide = back.float()
        let tolerance: Float = type == .fp16 ? 1.0 / 2048 : 1.0 / 256
        for i in 0..<n {
            #expect(abs(wide.keys[i] - block.keys[i]) <= tolerance * abs(block.keys[i]) + 1e-7)
            #expect(abs(wide.values[i] - block.values[i]) <= tolerance * abs(block.values[i]) + 1e-7)
        }
        #expect(throws: AttentionError.payloadSizeMismatch(expected: 4 * n, actual: 4 * n - 1)) {
            _ = try Array(bytes.dropLast()).withUnsafeBytes { try KVBlock16(bytes: $0, as: type, shape: shape, tokens: 32) }
        }
    }
}

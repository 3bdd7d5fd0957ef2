import Testing
@testable import ActQKV

@Suite("LayerMemory checkpoint encoding")
struct LayerMemoryCodingTests {
    let shape = try! AttentionShape(heads: 6, kvHeads: 2, headDim: 8)
    let rope = RotaryEmbedding(headDim: 8, base: 10_000, convention: .interleaved)

    func feed(_ memory: inout LayerMemory, chunks: Int, seed: UInt64) throws -> ([Float], [ClosedBlock]) {
        var rng = SeededRandom(seed: seed)
        var outs: [Float] = [], closed: [ClosedBlock] = []
        for _ in 0..<chunks {
            let c = 1 + Int(rng.next() % 8)
            let r = try memory.process(queries: rng.floats(c * shape.queryWidth), keys: rng.floats(c * shape.kvWidth),
                                       values: rng.floats(c * shape.kvWidth), count: c, recalled: [])
            outs += r.output; closed += r.closed
        }
        return (outs, closed)
    }

    @Test("encode → decode → encode is byte-identical, and the restored layer continues identically")
    func roundTripAndResume() throws {
        var memory = LayerMemory(shape: shape, config: smallConfig(), method: .actqkv, rope: rope)
        _ = try feed(&memory, chunks: 9, seed: 1)
        #expect(memory.closedBlocks > 0 && memory.sinkCount == 4)
        let bytes = memory.encoded()
        var restored = try LayerMemory(decoding: bytes, rope: rope)
        #expect(restored.encoded() == bytes)
        let a = try feed(&memory, chunks: 12, seed: 2)
        let b = try feed(&restored, chunks: 12, seed: 2)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(memory.encoded() == restored.encoded())
    }

    @Test("truncated or corrupted checkpoints are rejected with a typed error")
    func rejectsDamage() throws {
        var memory = LayerMemory(shape: shape, config: smallConfig(), method: .infllm, rope: rope)
        _ = try feed(&memory, chunks: 5, seed: 3)
        let bytes = memory.encoded()
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: StateDecodingError.self) { _ = try LayerMemory(decoding: Array(bytes[..<cut]), rope: rope) }
        }
        for i in stride(from: 0, to: bytes.count, by: 5) {
            var bad = bytes; bad[i] ^= 0x10
            #expect(throws: StateDecodingError.self) { _ = try LayerMemory(decoding: bad, rope: rope) }
        }
        let other = RotaryEmbedding(headDim: 16, base: 10_000, convention: .neox)
        #expect(throws: StateDecodingError.invalidField("rope head dimension")) { _ = try LayerMemory(decoding: bytes, rope: other) }
        #expect(throws: StateDecodingError.badMagic) { _ = try LayerMemory(decoding: try ProbeState(config: RetrievalConfig(), layers: 1).encoded(), rope: rope) }
    }
}

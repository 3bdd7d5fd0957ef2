import Testing
@testable import LanguageModel

/// The real SmolLM2-135M-Instruct Q4_1 file (env ACTQKV_MODEL) opens and reads correctly.
@Suite struct GGUFRealModelTests {
    func openModel() throws -> GGUFFile {
        let path = GGUFTestSupport.modelPath
        do {
            return try GGUFFile(path: path)
        } catch {
            Issue.record("cannot open the model at \(path) (set ACTQKV_MODEL or run scripts/test.sh, which fetches it): \(error)")
            throw error
        }
    }

    @Test func metadataDescribesSmolLM2() throws {
        let file = try openModel()
        #expect(file.version == 3)
        #expect(try file.requireArchitecture() == "llama")
        #expect(try file.requireInt("llama.block_count") == 30)
        #expect(try file.requireInt("llama.attention.head_count") == 9)
        #expect(try file.requireInt("llama.attention.head_count_kv") == 3)
        #expect(try file.requireInt("llama.embedding_length") == 576)
        #expect(try file.requireInt("llama.context_length") == 8192)
        let ropeBase = try file.requireFloat("llama.rope.freq_base")
        #expect(ropeBase == 100_000)
        let tokens = try file.requireStringArray("tokenizer.ggml.tokens")
        #expect(tokens.count == 49152)
        #expect(file.metadata["tokenizer.ggml.model"]?.string == "gpt2")
    }

    @Test func tensorTableIsConsistent() throws {
        let file = try openModel()
        #expect(file.tensorOrder.count == file.tensors.count)
        // 30 layers × 9 tensors + token_embd + output_norm.
        #expect(file.tensors.count >= 30 * 9 + 2)
        let embedding = try file.tensor(named: "token_embd.weight")
        #expect(embedding.dimensions == [576, 49152])
        let q = try file.tensor(named: "blk.0.attn_q.weight")
        #expect(q.dimensions == [576, 576])
        let k = try file.tensor(named: "blk.0.attn_k.weight", dimensions: [576, 192])
        #expect(k.type == .q4_1)
        #expect(throws: GGUFError.unexpectedTensorShape(tensor: "blk.0.attn_v.weight", expected: [576, 576], found: [576, 192])) {
            try file.tensor(named: "blk.0.attn_v.weight", dimensions: [576, 576])
        }
        #expect(throws: GGUFError.tensorNotFound("blk.30.attn_q.weight")) { try file.tensor(named: "blk.30.attn_q.weight") }
        for name in file.tensorOrder {
            let info = file.tensors[name]!
            #expect(info.offset % file.alignment == 0)
            #expect(file.dataOffset + info.offset + info.byteCount <= file.fileSize)
        }
    }

    @Test func everyTensorDequantisesToFiniteValues() throws {
        let file = try openModel()
        var total = 0
        for name in file.tensorOrder {
            let info = file.tensors[name]!
            let values = try file.dequantize(info)
            #expect(values.count == info.elementCount)
            let nonFinite = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            #expect(nonFinite == 0, "\(name) has \(nonFinite) non-finite values")
            // Real weights are not all zero.
            #expect(values.contains { $0 != 0 }, "\(name) is all zeros")
            total += values.count
        }
        #expect(total > 130_000_000)
    }
}

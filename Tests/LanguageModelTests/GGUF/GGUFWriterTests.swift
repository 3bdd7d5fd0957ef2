import Testing
@testable import LanguageModel

/// GGUFWriter → GGUFFile round trips: metadata of every type, tensors of every encodable type,
/// alignment.
@Suite struct GGUFWriterTests {
    /// Deterministic, non-trivial test data (a mix of signs and magnitudes).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(Double(state % 20_001) / 10_000 - 1) * 0.5
        }
    }

    static let allMetadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60_000)), ("t.i16", .int16(-30_000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)),
        ("t.u64", .uint64(UInt64.max)), ("t.i64", .int64(Int64.min)),
        ("t.f32", .float32(3.25)), ("t.f64", .float64(-1e300)), ("t.bool", .bool(true)),
        ("t.string", .string("héllo ▁wörld")), ("t.empty", .string("")),
        ("t.strings", .array([.string("a"), .string("Ġb"), .string("")])),
        ("t.ints", .array([.int32(1), .int32(-2), .int32(3)])),
        ("t.floats", .array([.float32(0.5), .float32(-1.5)])),
        ("t.nested", .array([.array([.uint8(1)]), .array([.uint8(2), .uint8(3)])])),
        ("t.emptyArray", .array([])),
    ]

    @Test(arguments: [32, 64, 4096])
    func roundTripPreservesMetadataAndTensors(alignment: Int) throws {
        var writer = GGUFWriter(alignment: alignment)
        for (key, value) in Self.allMetadata { writer.setMetadata(key, value) }
        let f32 = Self.values(3 * 64, seed: 1)
        let q8 = Self.values(64 * 5, seed: 2)
        let q41 = Self.values(32 * 7, seed: 3)
        let f16 = Self.values(10, seed: 4)
        try writer.addTensor(name: "a.f32", dimensions: [3, 64], values: f32)
        try writer.addTensor(name: "b.q8_0", dimensions: [64, 5], values: q8, encodedAs: .q8_0)
        try writer.addTensor(name: "c.q4_1", dimensions: [32, 7], values: q41, encodedAs: .q4_1)
        try writer.addTensor(name: "d.f16", dimensions: [10], values: f16, encodedAs: .f16)
        let path = GGUFTestSupport.temporaryPath("roundtrip.gguf")
        defer { GGUFTestSupport.remove(path) }
        try writer.write(to: path)

        let file = try GGUFFile(path: path)
        #expect(file.version == 3)
        #expect(file.alignment == alignment)
        #expect(file.dataOffset % alignment == 0)
        for (key, value) in Self.allMetadata { #expect(file.metadata[key] == value, "\(key)") }
        #expect(file.tensorOrder == ["a.f32", "b.q8_0", "c.q4_1", "d.f16"])
        #expect(try file.dequantize(named: "a.f32") == f32)
        #expect(file.tensors["b.q8_0"]!.dimensions == [64, 5])
        #expect(file.tensors["b.q8_0"]!.type == .q8_0)
        for name in file.tensorOrder { #expect(file.tensors[name]!.offset % alignment == 0) }

        // Quantised tensors come back within their format's error bound.
        let q8Back = try file.dequantize(named: "b.q8_0")
        for block in 0..<(q8.count / 32) {
            let slice = q8[(32 * block)..<(32 * block + 32)]
            let bound = Double(slice.map(abs).max()!) / 254 * 1.01 + 1e-7
            for i in slice.indices { #expect(abs(Double(q8Back[i]) - Double(q8[i])) <= bound) }
        }
        let q41Back = try file.dequantize(named: "c.q4_1")
        for block in 0..<(q41.count / 32) {
            let slice = q41[(32 * block)..<(32 * block + 32)]
            let bound = Double(slice.max()! - slice.min()!) / 30 * 1.02 + 1e-3 * Double(slice.map(abs).max()!)
            for i in slice.indices { #expect(abs(Double(q41Back[i]) - Double(q41[i])) <= bound) }
        }
        let f16Back = try file.dequantize(named: "d.f16")
        for i in f16.indices { #expect(abs(f16Back[i] - f16[i]) <= abs(f16[i]) / 1024) }
    }

    @Test func inMemoryAndFileReadersAgree() throws {
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        try writer.addTensor(name: "w", dimensions: [64, 2], values: Self.values(128, seed: 9), encodedAs: .q4_0)
        let bytes = try writer.serialized()
        let path = GGUFTestSupport.temporaryPath("agree.gguf")
        defer { GGUFTestSupport.remove(path) }
        try writer.write(to: path)
        #expect(try GGUFTestSupport.readBytes(path) == bytes)
        #expect(try GGUFFile(bytes: bytes).dequantize(named: "w") == GGUFFile(path: path).dequantize(named: "w"))
    }

    @Test func writerRejectsInconsistentTensors() throws {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [33], values: [Float](repeating: 1, count: 33), encodedAs: .q8_0) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [4, 2], values: [1, 2, 3]) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [256], values: [Float](repeating: 1, count: 256), encodedAs: .q4_K) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [32], type: .q8_0, bytes: [UInt8](repeating: 0, count: 33)) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [1 << 62], type: .f32, bytes: []) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [1 << 32, 1 << 32], type: .f32, bytes: []) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [1, 1, 1, 1, 1], values: [1]) }
        try writer.addTensor(name: "x", dimensions: [2], values: [1, 2])
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [2], values: [1, 2]) }
        #expect(throws: GGUFError.invalidAlignment("48")) { try GGUFWriter(alignment: 48).serialized() }
        #expect(throws: GGUFError.invalidAlignment("0")) { try GGUFWriter(alignment: 0).write(to: GGUFTestSupport.temporaryPath("never.gguf")) }
        writer.setMetadata("mixed", .array([.int32(1), .string("a")]))
        #expect(throws: GGUFError.invalidMetadataArray(key: "mixed")) { try writer.serialized() }
    }
}

import Testing
@testable import LanguageModel

#if canImport(Glibc)
import Glibc
#endif

/// Malformed, truncated and hostile files give a typed ``GGUFError`` — never a crash, never a
/// huge allocation, never silent success.
@Suite struct GGUFCorruptionTests {
    func parseError(_ bytes: [UInt8]) -> GGUFError? {
        do {
            _ = try GGUFFile(bytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    /// A small but complete file: metadata of several kinds incl. a string array, three tensors.
    func sampleFile() throws -> [UInt8] {
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        writer.setMetadata("llama.block_count", .uint32(2))
        writer.setMetadata("tokenizer.ggml.tokens", .array(["<s>", "a", "Ġb", "héllo"].map { .string($0) }))
        writer.setMetadata("tokenizer.ggml.scores", .array([.float32(0), .float32(-1.5)]))
        try writer.addTensor(name: "a", dimensions: [32, 2], values: GGUFWriterTests.values(64, seed: 5), encodedAs: .q8_0)
        try writer.addTensor(name: "b", dimensions: [8], values: GGUFWriterTests.values(8, seed: 6))
        try writer.addTensor(name: "c", dimensions: [32], values: GGUFWriterTests.values(32, seed: 7), encodedAs: .q4_1)
        return try writer.serialized()
    }

    @Test func truncationAtEveryOffsetIsATypedError() throws {
        let bytes = try sampleFile()
        let full = try GGUFFile(bytes: bytes)
        let needed = full.tensors.values.map { full.dataOffset + $0.offset + $0.byteCount }.max()!
        for length in 0..<bytes.count {
            let error = parseError(Array(bytes[..<length]))
            if length < needed {
                guard let error else {
                    Issue.record("truncated at \(length) of \(bytes.count) bytes parsed without error")
                    continue
                }
                #expect([3, 8, 10].contains(error.code), "length \(length): \(error)")
            } else {
                #expect(error == nil, "length \(length): trailing padding only, \(String(describing: error))")
            }
        }
        #expect(parseError([]) == .truncated(offset: 0, needed: 4, fileSize: 0))
    }

    @Test func truncatedRealModelCopiesFailThroughTheMapping() throws {
        // A copy of the real model, cut shorter and shorter with ftruncate and opened by path.
        let source = try GGUFFile(path: GGUFTestSupport.modelPath)
        let path = GGUFTestSupport.temporaryPath("cut.gguf")
        let original = try GGUFTestSupport.readBytes(GGUFTestSupport.modelPath)
        try GGUFTestSupport.writeTemporaryAt(path, original)
        defer { unlink(path) }
        let lastByte = source.tensors.values.map { source.dataOffset + $0.offset + $0.byteCount }.max()!
        // In the tensor data: the last tensor (or more) no longer fits.
        var lengths = [lastByte - 1, source.dataOffset + source.fileSize / 2, source.dataOffset + 1, source.dataOffset]
        // Inside the tensor table and the metadata (strings, arrays of strings, scalars).
        var length = source.dataOffset - 1
        while length > 0 {
            lengths.append(length)
            length = length * 7 / 8 - 13
        }
        lengths += [0, 1, 3, 4, 7, 8, 15, 23, 24, 25]
        for length in lengths.sorted(by: >) {
            #expect(truncate(path, off_t(length)) == 0)
            do {
                _ = try GGUFFile(path: path)
                Issue.record("model cut at \(length) bytes opened without error")
            } catch {
                let allowed = length >= source.dataOffset ? [8] : length == 0 ? [3] : [3, 8, 10]
                #expect(allowed.contains(error.code), "cut at \(length): \(error)")
            }
        }
    }

    @Test func badMagicAndVersions() throws {
        var bytes = GGUFRawBuilder.minimal()
        #expect(parseError(bytes) == nil)
        bytes[0] = UInt8(ascii: "X")
        #expect(parseError(bytes) == .badMagic(found: 0x4655_4758))
        #expect(parseError(bytes)?.code == 4)
        for version: UInt32 in [0, 1, 4, 0xFFFF_FFFF] {
            var b = GGUFRawBuilder()
            b.header(version: version, tensors: 0, metadata: 0)
            #expect(parseError(b.bytes) == .unsupportedVersion(version))
        }
        var v2 = GGUFRawBuilder.minimal()
        v2[4] = 2
        #expect(try GGUFFile(bytes: v2).version == 2)
    }

    @Test func bogusCountsAreRejectedBeforeAllocating() {
        var b = GGUFRawBuilder()
        b.header(tensors: 1 << 63, metadata: 0)
        b.filler(100)
        #expect(parseError(b.bytes) == .implausibleCount(what: "tensor count", count: 1 << 63, offset: 8))

        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: UInt64.max)
        #expect(parseError(b.bytes)?.code == 10)

        // A key whose length claims 2^40 bytes.
        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.u64(1 << 40)
        b.filler(64)
        #expect(parseError(b.bytes) == .implausibleCount(what: "string length", count: 1 << 40, offset: 24))

        // A string value claiming 2^40 bytes.
        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.string("k")
        b.u32(8)
        b.u64(1 << 40)
        b.filler(64)
        #expect(parseError(b.bytes)?.code == 10)

        // An array of 2^62 uint64 / of 2^61 strings.
        for elementType: UInt32 in [10, 8, 9] {
            b = GGUFRawBuilder()
            b.header(tensors: 0, metadata: 1)
            b.string("k")
            b.u32(9)
            b.u32(elementType)
            b.u64(1 << 62)
            b.filler(64)
            #expect(parseError(b.bytes)?.code == 10, "element type \(elementType)")
        }

        // A tensor name claiming 2^40 bytes.
        b = GGUFRawBuilder()
        b.header(tensors: 1, metadata: 0)
        b.u64(1 << 40)
        b.filler(64)
        #expect(parseError(b.bytes)?.code == 10)
    }

    @Test func unknownTypeIds() {
        var b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.string("k")
        b.u32(13)
        b.u64(0)
        #expect(parseError(b.bytes) == .unknownValueType(13, key: "k"))
        #expect(parseError(b.bytes)?.code == 6)

        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.string("arr")
        b.u32(9)
        b.u32(77)
        b.u64(1)
        b.u64(0)
        #expect(parseError(b.bytes) == .unknownValueType(77, key: "arr"))

        for typeID: UInt32 in [4, 5, 31, 36, 1000] {
            b = GGUFRawBuilder()
            b.header(tensors: 1, metadata: 0)
            b.tensorInfo("t", dimensions: [32], type: typeID, offset: 0)
            b.pad()
            b.filler(64)
            #expect(parseError(b.bytes) == .unknownTensorType(typeID, tensor: "t"))
            #expect(parseError(b.bytes)?.code == 7)
        }
    }

    @Test func tensorsOutsideTheFile() {
        func file(offset: UInt64, dimensions: [UInt64] = [4, 2], type: UInt32 = 0, data: Int = 32) -> [UInt8] {
            var b = GGUFRawBuilder()
            b.header(tensors: 1, metadata: 0)
            b.tensorInfo("t", dimensions: dimensions, type: type, offset: offset)
            b.pad()
            b.filler(data)
            return b.bytes
        }
        #expect(parseError(file(offset: 0)) == nil)
        #expect(parseError(file(offset: 32)) == .tensorOutOfBounds(tensor: "t", offset: 32, byteCount: 32, dataSize: 32))
        #expect(parseError(file(offset: 0, data: 31))?.code == 8)
        #expect(parseError(file(offset: 1 << 40))?.code == 8)
        #expect(parseError(file(offset: UInt64.max))?.code == 8)
        #expect(parseError(file(offset: UInt64(Int.max) - 31))?.code == 8)  // offset + size overflows
        #expect(parseError(file(offset: 0, dimensions: [1 << 20, 1 << 20]))?.code == 8)
        #expect(parseError(file(offset: 4, data: 64)) == .misalignedTensor(tensor: "t", offset: 4, alignment: 32))
        // Shapes: too many dimensions, overflowing product, ne0 not whole blocks, huge extent.
        #expect(parseError(file(offset: 0, dimensions: [1, 1, 1, 1, 1]))?.code == 11)
        #expect(parseError(file(offset: 0, dimensions: [1 << 32, 1 << 32]))?.code == 11)
        #expect(parseError(file(offset: 0, dimensions: [33], type: 8))?.code == 11)
        #expect(parseError(file(offset: 0, dimensions: [UInt64.max]))?.code == 11)
        #expect(parseError(file(offset: 0, dimensions: [1 << 62], type: 0))?.code == 11)  // bytes overflow
    }

    @Test func duplicatesAlignmentAndNesting() throws {
        var b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 2)
        b.stringEntry("k", "a")
        b.stringEntry("k", "b")
        #expect(parseError(b.bytes) == .duplicateKey("k"))

        b = GGUFRawBuilder()
        b.header(tensors: 2, metadata: 0)
        b.tensorInfo("t", dimensions: [4], type: 0, offset: 0)
        b.tensorInfo("t", dimensions: [4], type: 0, offset: 32)
        b.pad()
        b.filler(64)
        #expect(parseError(b.bytes) == .duplicateTensor("t"))

        for alignment: UInt32 in [0, 3, 48, 1 << 31] {
            b = GGUFRawBuilder()
            b.header(tensors: 0, metadata: 1)
            b.uint32Entry("general.alignment", alignment)
            #expect(parseError(b.bytes)?.code == 15, "alignment \(alignment)")
        }
        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.stringEntry("general.alignment", "64")
        #expect(parseError(b.bytes)?.code == 15)

        // 10 000 nested array headers: rejected at the nesting limit, no deep recursion.
        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.string("deep")
        b.u32(9)
        for _ in 0..<10_000 {
            b.u32(9)
            b.u64(1)
        }
        #expect(parseError(b.bytes) == .nestingTooDeep(key: "deep"))
    }

    @Test func architectureCheck() throws {
        #expect(try GGUFFile(bytes: GGUFRawBuilder.minimal()).requireArchitecture() == "llama")
        let gpt2 = try GGUFFile(bytes: GGUFRawBuilder.minimal(arch: "gpt2"))
        #expect(throws: GGUFError.unsupportedArchitecture("gpt2")) { try gpt2.requireArchitecture() }
        #expect(GGUFError.unsupportedArchitecture("gpt2").code == 9)
        var b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 1)
        b.uint32Entry("general.architecture", 7)
        let numeric = try GGUFFile(bytes: b.bytes)
        #expect(throws: GGUFError.metadataTypeMismatch(key: "general.architecture", expected: "a string")) {
            try numeric.requireArchitecture()
        }
        b = GGUFRawBuilder()
        b.header(tensors: 0, metadata: 0)
        #expect(throws: GGUFError.missingMetadata(key: "general.architecture")) { try GGUFFile(bytes: b.bytes).requireArchitecture() }
        #expect(throws: GGUFError.missingMetadata(key: "llama.block_count")) { try GGUFFile(bytes: b.bytes).requireInt("llama.block_count") }
    }

    @Test func openingMissingOrEmptyFiles() throws {
        #expect(throws: GGUFError.cannotOpen(path: "/nonexistent/x.gguf", errno: ENOENT)) {
            try GGUFFile(path: "/nonexistent/x.gguf")
        }
        let empty = try GGUFTestSupport.writeTemporary([])
        defer { unlink(empty) }
        #expect(throws: GGUFError.truncated(offset: 0, needed: 4, fileSize: 0)) { try GGUFFile(path: empty) }
        let directory = GGUFTestSupport.temporaryPath("dir")
        mkdir(directory, 0o755)
        defer { rmdir(directory) }
        #expect(throws: GGUFError.self) { try GGUFFile(path: directory) }
    }

    @Test func dequantizeRowsRejectsBadRequests() throws {
        let file = try GGUFFile(bytes: try sampleFile())
        let a = try file.tensor(named: "a")  // 2 rows of 32
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        #expect(throws: GGUFError.rowRangeOutOfBounds(tensor: "a", lower: 1, upper: 3, rowCount: 2)) {
            try file.dequantizeRows(a, rows: 1..<3, into: buffer)
        }
        #expect(throws: GGUFError.bufferTooSmall(needed: 64, available: 32)) {
            try file.dequantizeRows(a, rows: 0..<2, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<32]))
        }
        let foreign = GGUFTensorInfo(name: "a", dimensions: [32, 2000], type: .q8_0, offset: 0)
        #expect(throws: GGUFError.tensorNotFound("a")) { try file.dequantizeRows(foreign, rows: 0..<1, into: buffer) }
        #expect(throws: GGUFError.tensorNotFound("zz")) { try file.dequantize(named: "zz") }
        try file.dequantizeRows(a, rows: 2..<2, into: buffer)  // empty range is fine

        var writer = GGUFWriter()
        try writer.addTensor(name: "k", dimensions: [256], type: .q5_K, bytes: [UInt8](repeating: 3, count: 176))
        let q5 = try GGUFFile(bytes: writer.serialized())
        #expect(q5.tensors["k"]?.type == .q5_K)
        #expect(throws: GGUFError.unsupportedDequantization(.q5_K)) { try q5.dequantize(named: "k") }
    }

    @Test func randomByteCorruptionNeverCrashes() throws {
        let original = try sampleFile()
        let headerEnd = try GGUFFile(bytes: original).dataOffset
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        var failures = 0, successes = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(next() % 4)) {
                let position = Int(next() % UInt64(headerEnd))
                bytes[position] = next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: next())
            }
            do {
                let file = try GGUFFile(bytes: bytes)
                successes += 1
                // Whatever parsed must be safe to read in full.
                for name in file.tensorOrder {
                    let info = file.tensors[name]!
                    guard info.type.isDequantizable, info.elementCount < 1 << 20 else { continue }
                    _ = try? file.dequantize(info)
                }
            } catch {
                failures += 1
                #expect((1...26).contains(error.code))
            }
        }
        #expect(failures > 1000)
        #expect(successes + failures == 3000)
    }
}

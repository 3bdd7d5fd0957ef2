import Testing
@testable import LanguageModel

/// Dot products on encoded rows against dequantise-then-dot in Float64.
@Suite struct QuantizedDotTests {
    /// Checks every row of `tensor` · x against a Float64 reference, within 1e-5 of Σ|w·x|.
    func check(_ file: GGUFFile, _ tensor: GGUFTensorInfo, x: [Float], rows: Range<Int>) throws {
        let weights = try file.dequantize(tensor)
        let n = tensor.rowLength
        var y = [Float](repeating: .nan, count: rows.count)
        let yBuffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows.count)
        defer { yBuffer.deallocate() }
        let xBuffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: x.count)
        defer { xBuffer.deallocate() }
        _ = xBuffer.initialize(from: x)
        try file.multiply(tensor, by: UnsafeBufferPointer(xBuffer), into: yBuffer, rows: rows)
        y = Array(yBuffer)
        for (i, r) in rows.enumerated() {
            var exact = 0.0, magnitude = 0.0
            for c in 0..<n {
                let term = Double(weights[r * n + c]) * Double(x[c])
                exact += term
                magnitude += abs(term)
            }
            #expect(magnitude > 0)
            #expect(abs(Double(y[i]) - exact) <= 1e-5 * magnitude, "\(tensor.name) row \(r): \(y[i]) vs \(exact)")
        }
    }

    @Test(arguments: [GGMLType.q8_0, .q4_1, .q4_0, .f32, .f16])
    func matchesFloat64Reference(type: GGMLType) throws {
        let cols = 576, rowCount = 7
        var writer = GGUFWriter()
        try writer.addTensor(name: "w", dimensions: [cols, rowCount],
                             values: GGUFWriterTests.values(cols * rowCount, seed: 11), encodedAs: type)
        let file = try GGUFFile(bytes: writer.serialized())
        let x = GGUFWriterTests.values(cols, seed: 12).map { $0 * 3 }
        try check(file, file.tensor(named: "w"), x: x, rows: 0..<rowCount)
        try check(file, file.tensor(named: "w"), x: x, rows: 2..<5)
    }

    @Test func realModelRows() throws {
        let file = try GGUFFile(path: GGUFTestSupport.modelPath)
        let x = GGUFWriterTests.values(576, seed: 13)
        try check(file, file.tensor(named: "blk.0.attn_q.weight"), x: x, rows: 0..<576)       // Q4_1
        try check(file, file.tensor(named: "token_embd.weight"), x: x, rows: 1000..<1100)    // Q8_0
        try check(file, file.tensor(named: "blk.29.ffn_up.weight"), x: x, rows: 1400..<1536) // Q4_1
    }

    @Test func rejectsBadRequests() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "w", dimensions: [64, 3], values: GGUFWriterTests.values(192, seed: 1), encodedAs: .q8_0)
        try writer.addTensor(name: "bf", dimensions: [4], values: [1, 2, 3, 4], encodedAs: .bf16)
        let file = try GGUFFile(bytes: writer.serialized())
        let w = try file.tensor(named: "w")
        let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: 64)
        defer { x.deallocate() }
        x.initialize(repeating: 1)
        let y = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3)
        defer { y.deallocate() }
        #expect(throws: GGUFError.bufferTooSmall(needed: 64, available: 32)) {
            try file.multiply(w, by: UnsafeBufferPointer(rebasing: x[0..<32]), into: y)
        }
        #expect(throws: GGUFError.bufferTooSmall(needed: 3, available: 2)) {
            try file.multiply(w, by: UnsafeBufferPointer(x), into: UnsafeMutableBufferPointer(rebasing: y[0..<2]))
        }
        #expect(throws: GGUFError.rowRangeOutOfBounds(tensor: "w", lower: 0, upper: 4, rowCount: 3)) {
            try file.multiply(w, by: UnsafeBufferPointer(x), into: y, rows: 0..<4)
        }
        #expect(throws: GGUFError.unsupportedDequantization(.bf16)) {
            try file.multiply(file.tensor(named: "bf"), by: UnsafeBufferPointer(x), into: y)
        }
    }
}

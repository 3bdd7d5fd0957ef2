import CoreTypes
import LanguageModel

/// Matrix–vector products on block-quantised weights at Gemma 3 270M's shapes, per format and
/// instruction set, for `actqkv bench kernels`: ns per product (median of `repetitions` timed runs,
/// each of enough products to take ≥ ~20 ms), through ``QuantizedMatrix`` as decoding calls it
/// (rows split over the cores). The instruction sets are interleaved run by run, so that load from
/// other processes falls on all of them alike.
enum KernelBenchmark {
    /// One weight matrix to multiply.
    struct Shape: Sendable {
        var format: QuantizedFormat
        var rows: Int, columns: Int
        /// What the matrix is in Gemma 3 270M.
        var role: String
    }

    /// The Gemma 3 270M matrices (Q4_K_M file), plus Q4_1 and Q5_1 at the FFN shape for comparison.
    static let gemmaShapes: [Shape] = [
        Shape(format: .q5_0, rows: 2048, columns: 640, role: "ffn_gate/ffn_up"),
        Shape(format: .q5_1, rows: 2048, columns: 640, role: "(not in the file; Q5_1 at the FFN shape)"),
        Shape(format: .q4_1, rows: 2048, columns: 640, role: "(SmolLM2's format at the FFN shape)"),
        Shape(format: .q8_0, rows: 2048, columns: 640, role: "(Q8_0 at the FFN shape)"),
        Shape(format: .q4_K, rows: 640, columns: 2048, role: "ffn_down"),
        Shape(format: .q6_K, rows: 640, columns: 2048, role: "ffn_down"),
        Shape(format: .q4_K, rows: 640, columns: 1024, role: "attn_output"),
        Shape(format: .q8_0, rows: 262_144, columns: 640, role: "token_embd (tied output)"),
    ]

    /// Median ns per product for each instruction set the CPU has.
    struct Result: Sendable {
        var shape: Shape
        var int8: [(set: KernelInstructionSet, nanoseconds: Double)]
        var float32: [(set: KernelInstructionSet, nanoseconds: Double)]
    }

    /// Random blocks with realistic scale fields (the codes are random bytes).
    static func randomRows(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) -> UnsafeMutableRawBufferPointer {
        let count = rows * format.rowBytes(columns: columns)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        var g = SplitMix64(seed: seed)
        var i = 0
        while i + 8 <= count { buffer.storeBytes(of: g.next(), toByteOffset: i, as: UInt64.self); i += 8 }
        while i < count { buffer[i] = UInt8(truncatingIfNeeded: g.next()); i += 1 }
        let blocks = count / format.blockBytes
        func half(_ v: Float, at offset: Int) { buffer.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self) }
        for b in 0..<blocks {
            let base = b * format.blockBytes
            switch format {
            case .q8_0, .q5_0: half(0.01, at: base)
            case .q4_1, .q5_1: half(0.01, at: base); half(-0.1, at: base + 2)
            case .q4_K: half(0.001, at: base); half(0.002, at: base + 2)
            case .q6_K: half(0.0003, at: base + 208)
            case .f32: break
            }
        }
        if format == .f32 {
            for r in 0..<(rows * columns) { buffer.storeBytes(of: Float(r % 17) / 17, toByteOffset: 4 * r, as: Float.self) }
        }
        return buffer
    }

    static func run(shapes: [Shape] = gemmaShapes, repetitions: Int, float32: Bool) -> [Result] {
        let sets = KernelInstructionSet.allCases.filter(\.isAvailable)
        let clock = ContinuousClock()
        var results: [Result] = []
        for (index, shape) in shapes.enumerated() {
            let buffer = randomRows(shape.format, rows: shape.rows, columns: shape.columns, seed: 1 + UInt64(index))
            defer { buffer.deallocate() }
            let matrix = QuantizedMatrix(segments: [QuantizedRows(base: UnsafeRawPointer(buffer.baseAddress!), format: shape.format,
                                                                   rows: shape.rows, columns: shape.columns)], owner: nil)
            var x = [Float](repeating: 0, count: shape.columns)
            var g = SplitMix64(seed: 99)
            for i in 0..<shape.columns { x[i] = Float(g.nextUnit() * 2 - 1) }
            var y = [Float](repeating: 0, count: shape.rows)
            // Products per timed run: ≥ ~20 ms at ~2 GB/s.
            let bytes = shape.rows * shape.format.rowBytes(columns: shape.columns)
            let inner = max(1, 40_000_000 / max(bytes, 1))
            func measure(int8: Bool) -> [(set: KernelInstructionSet, nanoseconds: Double)] {
                var times = [[Double]](repeating: [], count: sets.count)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        for _ in 0..<(repetitions + 1) {  // the first round warms caches and threads
                            for (s, set) in sets.enumerated() {
                                let t = withInstructionSet(set) {
                                    clock.measure {
                                        for _ in 0..<inner {
                                            if int8 { matrix.multiplyInt8(xp.baseAddress!, into: yp.baseAddress!) } else { matrix.multiply(xp.baseAddress!, into: yp.baseAddress!) }
                                        }
                                    }
                                }
                                times[s].append(t.milliseconds * 1e6 / Double(inner))
                            }
                        }
                    }
                }
                return sets.indices.map { (sets[$0], GGUFBenchmark.median(Array(times[$0].dropFirst()))) }
            }
            results.append(Result(shape: shape, int8: measure(int8: true), float32: float32 ? measure(int8: false) : []))
        }
        return results
    }

    /// One line per shape and activation precision: ns per product per instruction set, the weight
    /// bytes read per ns, and each set's speed-up over AVX2.
    static func report(_ results: [Result]) -> String {
        var lines: [String] = []
        for r in results {
            let bytes = Double(r.shape.rows * r.shape.format.rowBytes(columns: r.shape.columns))
            let head = "\(r.shape.format) \(r.shape.rows)x\(r.shape.columns) \(r.shape.role), \(Int(bytes / 1024)) KiB"
            for (name, timings) in [("int8", r.int8), ("f32 ", r.float32)] where !timings.isEmpty {
                let avx2 = timings.first { $0.set == .avx2 }?.nanoseconds
                let cells = timings.map { t -> String in
                    var cell = "\(t.set.rawValue) \(Int(t.nanoseconds.rounded())) ns (\(GGUFBenchmark.format(bytes / t.nanoseconds)) GB/s"
                    if let avx2, t.set != .avx2 { cell += ", \(GGUFBenchmark.format(avx2 / t.nanoseconds))x avx2" }
                    return cell + ")"
                }
                lines.append("\(head) \(name): " + cells.joined(separator: "; "))
            }
        }
        return lines.joined(separator: "\n")
    }
}

import CBLAS
import CoreTypes
import LanguageModel

/// Measures GGUF loading and the matrix-vector kernels on a real model file, for
/// `actqkv bench gguf`; every time is the median of `repetitions` runs, in milliseconds.
enum GGUFBenchmark {
    /// Results of ``run(modelPath:repetitions:)``.
    struct Report: Sendable, CustomStringConvertible {
        /// Median time to open the file (mmap + parse header, metadata, tensor table), ms.
        var openMilliseconds: Double
        /// Median time to dequantise every tensor to Float32 (row-wise into one reused buffer), ms.
        var dequantizeAllMilliseconds: Double
        /// Elements dequantised per run.
        var dequantizedElements: Int
        /// Per tensor type: (type, elements, median ms) for dequantising all tensors of that type.
        var dequantizeByType: [(type: GGMLType, elements: Int, milliseconds: Double)]
        /// Matrix-vector timings, one per benchmarked matrix.
        var matVec: [MatVec]

        /// A multi-line human-readable summary (times in ms, throughput in G elements/s).
        var description: String {
            var lines = [
                "open (mmap + parse): \(GGUFBenchmark.format(openMilliseconds)) ms",
                "dequantize all \(dequantizedElements) elements: \(GGUFBenchmark.format(dequantizeAllMilliseconds)) ms "
                    + "(\(GGUFBenchmark.format(Double(dequantizedElements) / dequantizeAllMilliseconds / 1e6)) G elements/s)",
            ]
            for (type, elements, ms) in dequantizeByType {
                lines.append("  \(type): \(elements) elements, \(GGUFBenchmark.format(ms)) ms (\(GGUFBenchmark.format(Double(elements) / ms / 1e6)) G elements/s)")
            }
            for m in matVec {
                lines.append("mat-vec \(m.name) (\(m.type), \(m.rows) rows x \(m.columns) columns), ms per product:")
                lines.append("  quantized dot (GGUFFile.multiply): \(GGUFBenchmark.format(m.quantizedMilliseconds))")
                lines.append("  dequantize row + Float32 dot:      \(GGUFBenchmark.format(m.dequantizeThenDotMilliseconds))")
                lines.append("  cblas_sgemv on a Float32 copy:     \(GGUFBenchmark.format(m.sgemvMilliseconds))")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Matrix-vector timings for one matrix, ms per product (median).
    struct MatVec: Sendable {
        /// Tensor name.
        var name: String
        /// Tensor type.
        var type: GGMLType
        /// Rows (outputs) and columns (`ne0`, inputs).
        var rows: Int, columns: Int
        /// ``GGUFFile/multiply(_:by:into:rows:)`` on the encoded weights.
        var quantizedMilliseconds: Double
        /// Dequantising each row into a scratch row, then a Float32 dot product (the obvious
        /// alternative without dedicated kernels).
        var dequantizeThenDotMilliseconds: Double
        /// `cblas_sgemv` (OpenBLAS) on the pre-dequantised Float32 matrix (4–8× the memory).
        var sgemvMilliseconds: Double
    }

    static func format(_ v: Double) -> String {
        let scaled = (v * 1000).rounded() / 1000
        return "\(scaled)"
    }

    @inline(never)
    static func blackHole(_ value: Float) {
        if value == 1.2345e-30 { print("", terminator: "") }
    }

    /// Runs every measurement `repetitions` times on the model at `modelPath` and returns medians.
    /// The matrix-vector timings use the largest Q4_1 and the largest Q8_0 matrix, each timing
    /// covering `matVecInnerLoops` products.
    static func run(modelPath: String, repetitions: Int = 5, matVecInnerLoops: Int = 20) throws(GGUFError) -> Report {
        let clock = ContinuousClock()

        var openTimes: [Double] = []
        var file: GGUFFile?
        for _ in 0..<repetitions {
            var opened: GGUFFile?
            var failure: GGUFError?
            let t = clock.measure {
                do throws(GGUFError) { opened = try GGUFFile(path: modelPath) } catch { failure = error }
            }
            if let failure { throw failure }
            openTimes.append(t.milliseconds)
            file = opened
        }
        guard let file else { throw .cannotOpen(path: modelPath, errno: 0) }

        let infos = file.tensorOrder.compactMap { file.tensors[$0] }.filter { $0.type.isDequantizable }
        let largest = infos.map(\.elementCount).max() ?? 0
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(largest, 1))
        defer { scratch.deallocate() }

        func dequantizeAll(_ subset: [GGUFTensorInfo]) throws(GGUFError) -> Double {
            var failure: GGUFError?
            let t = clock.measure {
                for info in subset {
                    do throws(GGUFError) {
                        try file.dequantizeRows(info, rows: 0..<info.rowCount, into: scratch)
                    } catch { failure = error }
                }
            }
            if let failure { throw failure }
            return t.milliseconds
        }
        var allTimes: [Double] = []
        for _ in 0..<repetitions { allTimes.append(try dequantizeAll(infos)) }
        var byType: [(GGMLType, Int, Double)] = []
        for type in Set(infos.map(\.type)).sorted(by: { $0.rawValue < $1.rawValue }) {
            let subset = infos.filter { $0.type == type }
            var times: [Double] = []
            for _ in 0..<repetitions { times.append(try dequantizeAll(subset)) }
            byType.append((type, subset.reduce(0) { $0 + $1.elementCount }, median(times)))
        }

        // Matrix-vector: the largest Q4_1 and the largest Q8_0 matrix (else the largest supported).
        let candidates = file.tensorOrder.compactMap { file.tensors[$0] }
            .filter { QuantizedDot.isSupported($0.type) && $0.dimensions.count == 2 }
        func pick(_ type: GGMLType) -> GGUFTensorInfo? {
            candidates.filter { $0.type == type }.max { $0.elementCount < $1.elementCount }
        }
        var matrices = [pick(.q4_1), pick(.q8_0)].compactMap { $0 }
        if matrices.isEmpty, let any = candidates.max(by: { $0.elementCount < $1.elementCount }) { matrices = [any] }
        var matVec: [MatVec] = []
        for matrix in matrices {
            matVec.append(try measureMatVec(file, matrix, repetitions: repetitions, innerLoops: matVecInnerLoops))
        }

        return Report(
            openMilliseconds: median(openTimes),
            dequantizeAllMilliseconds: median(allTimes),
            dequantizedElements: infos.reduce(0) { $0 + $1.elementCount },
            dequantizeByType: byType.map { (type: $0.0, elements: $0.1, milliseconds: $0.2) },
            matVec: matVec)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func measureMatVec(_ file: GGUFFile, _ matrix: GGUFTensorInfo, repetitions: Int, innerLoops: Int) throws(GGUFError) -> MatVec {
        let clock = ContinuousClock()
        let rows = matrix.rowCount, cols = matrix.rowLength
        let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: cols)
        defer { x.deallocate() }
        for i in 0..<cols { x[i] = Float((i * 7919) % 1000) / 1000 - 0.5 }
        let y = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows)
        defer { y.deallocate() }
        let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * cols)
        defer { weights.deallocate() }
        try file.dequantizeRows(matrix, rows: 0..<rows, into: weights)
        let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: cols)
        defer { row.deallocate() }

        var quantized: [Double] = [], dequantizeDot: [Double] = [], sgemv: [Double] = []
        for _ in 0..<repetitions {
            var failure: GGUFError?
            let t1 = clock.measure {
                for _ in 0..<innerLoops {
                    do throws(GGUFError) { try file.multiply(matrix, by: UnsafeBufferPointer(x), into: y) } catch { failure = error }
                    blackHole(y[0])
                }
            }
            if let failure { throw failure }
            quantized.append(t1.milliseconds / Double(innerLoops))

            let t2 = clock.measure {
                for _ in 0..<innerLoops {
                    for r in 0..<rows {
                        do throws(GGUFError) { try file.dequantizeRows(matrix, rows: r..<(r + 1), into: row) } catch { failure = error }
                        y[r] = QuantizedDot.f32(row: UnsafeRawPointer(row.baseAddress!), x.baseAddress!, count: cols)
                    }
                    blackHole(y[0])
                }
            }
            if let failure { throw failure }
            dequantizeDot.append(t2.milliseconds / Double(innerLoops))

            let t3 = clock.measure {
                for _ in 0..<innerLoops {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(cols), 1,
                                weights.baseAddress, Int32(cols), x.baseAddress, 1, 0, y.baseAddress, 1)
                    blackHole(y[0])
                }
            }
            sgemv.append(t3.milliseconds / Double(innerLoops))
        }
        return MatVec(name: matrix.name, type: matrix.type, rows: rows, columns: cols,
                      quantizedMilliseconds: median(quantized), dequantizeThenDotMilliseconds: median(dequantizeDot),
                      sgemvMilliseconds: median(sgemv))
    }
}

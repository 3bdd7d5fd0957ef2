import CInferenceKernels
import Dispatch

/// Block formats that ``QuantizedMatrix`` multiplies without dequantising the whole matrix.
/// Layouts are ggml's: rows are stored one after another, a row is `columns / 32` blocks.
public enum QuantizedFormat: Sendable, Equatable {
    /// 32 values per 20-byte block: Float16 scale d, Float16 minimum m, 16 bytes of 4-bit
    /// codes (byte j holds value j in its low nibble and value j+16 in its high nibble);
    /// value = d·code + m.
    case q4_1
    /// 32 values per 34-byte block: Float16 scale d, 32 signed bytes; value = d·code.
    case q8_0
    /// Plain little-endian Float32 values.
    case f32

    /// Bytes of one row of `columns` values.
    public func rowBytes(columns: Int) -> Int {
        switch self {
        case .q4_1: columns / 32 * 20
        case .q8_0: columns / 32 * 34
        case .f32: columns * 4
        }
    }
}

/// A run of consecutive rows in one format, pointing into memory owned elsewhere (the
/// memory-mapped model file, kept alive by the ``QuantizedMatrix`` that holds this).
public struct QuantizedRows: @unchecked Sendable {
    /// First byte of the first row.
    public let base: UnsafeRawPointer
    /// The block format.
    public let format: QuantizedFormat
    /// Number of rows.
    public let rows: Int
    /// Values per row (a multiple of 32 for the block formats).
    public let columns: Int

    /// Describes `rows` rows of `columns` values at `base`.
    public init(base: UnsafeRawPointer, format: QuantizedFormat, rows: Int, columns: Int) {
        precondition(format == .f32 || columns % 32 == 0, "block formats need a multiple of 32 columns")
        self.base = base
        self.format = format
        self.rows = rows
        self.columns = columns
    }
}

/// A matrix kept in its quantised form for matrix–vector products (the decode path): each
/// product reads the blocks directly, ≈ 0.6 (Q4_1) or 1.06 (Q8_0) bytes per weight instead of 4.
/// Rows may come from several tensors stacked (e.g. Q, K, V), in order.
public struct QuantizedMatrix: @unchecked Sendable {
    /// The stacked row runs.
    public let segments: [QuantizedRows]
    /// Total rows (outputs).
    public let outputCount: Int
    /// Columns (inputs).
    public let inputCount: Int
    /// Keeps the memory behind the segments alive.
    private let owner: AnyObject?
    /// The object keeping the memory alive (for stacking matrices of the same file).
    var ownerObject: AnyObject? { owner }

    /// Stacks `segments` (equal `columns`); `owner` must keep their memory alive.
    public init(segments: [QuantizedRows], owner: AnyObject?) {
        precondition(!segments.isEmpty && segments.allSatisfy { $0.columns == segments[0].columns })
        self.segments = segments
        self.outputCount = segments.reduce(0) { $0 + $1.rows }
        self.inputCount = segments[0].columns
        self.owner = owner
    }

    /// Rows per parallel work item.
    static let rowsPerTask = 64

    /// y = W·x (or y += W·x when `accumulate`) for one vector x of `inputCount` floats;
    /// y has `outputCount` floats. Splits rows over the available cores.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let blocks = inputCount / 32
        // Per-block sums of x (for the Q4_1 minimum term).
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: max(blocks, 1))
        defer { sums.deallocate() }
        for b in 0..<blocks {
            var s: Float = 0
            for j in 0..<32 { s += x[b * 32 + j] }
            sums[b] = s
        }
        let xs = UnsafeSendablePointer(x), ys = UnsafeSendableMutablePointer(y), ss = UnsafeSendablePointer(UnsafePointer(sums))
        forEachRowRange { seg, rows, firstOutput in
            Self.multiplyRows(seg, rows: rows, x: xs.pointer, blockSums: ss.pointer, into: ys.pointer + firstOutput, accumulate: accumulate)
        }
    }

    /// True when every segment is in a block format (Q4_1 or Q8_0): the matrices whose products
    /// take 8-bit activations under ``ActivationPrecision/int8``.
    public var isBlockQuantized: Bool { segments.allSatisfy { $0.format != .f32 } }

    /// y = W·x̃ (or y += W·x̃ when `accumulate`) where x̃ is x rounded to 8 bits per 32-value block
    /// (``ActivationPrecision/int8``), with integer dot products per block: llama.cpp's Q4_1 × Q8_1
    /// and Q8_0 × Q8_0 products. Needs ``isBlockQuantized``. Splits rows over the available cores.
    public func multiplyInt8(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        precondition(isBlockQuantized, "8-bit activations need block-quantised rows")
        let blocks = inputCount / 32
        let quantized = UnsafeMutablePointer<AQKActivationBlock>.allocate(capacity: blocks)
        defer { quantized.deallocate() }
        aqk_quantize_activations(x, Int32(blocks), quantized)
        let xs = UnsafeSendablePointer(UnsafePointer(quantized)), ys = UnsafeSendableMutablePointer(y)
        forEachRowRange { seg, rows, firstOutput in
            let start = seg.base + rows.lowerBound * seg.format.rowBytes(columns: seg.columns)
            let out = ys.pointer + firstOutput
            switch seg.format {
            case .q4_1: aqk_matvec_q4_1_q8(start, Int32(rows.count), Int32(blocks), xs.pointer, out, accumulate ? 1 : 0)
            case .q8_0: aqk_matvec_q8_0_q8(start, Int32(rows.count), Int32(blocks), xs.pointer, out, accumulate ? 1 : 0)
            case .f32: preconditionFailure("unreachable: checked by isBlockQuantized")
            }
        }
    }

    /// Calls `body(segment, rows of the segment, index of the first output row)` for every run of
    /// at most ``rowsPerTask`` rows, spread over the cores; the runs cover each row exactly once.
    private func forEachRowRange(_ body: @escaping @Sendable (QuantizedRows, Range<Int>, Int) -> Void) {
        let tasks = (outputCount + Self.rowsPerTask - 1) / Self.rowsPerTask
        let segments = self.segments, outputCount = self.outputCount
        let run: @Sendable (Int) -> Void = { task in
            let first = task * Self.rowsPerTask
            let last = min(outputCount, first + Self.rowsPerTask)
            var segmentStart = 0
            for seg in segments {
                let segEnd = segmentStart + seg.rows
                let lo = max(first, segmentStart), hi = min(last, segEnd)
                if lo < hi { body(seg, (lo - segmentStart)..<(hi - segmentStart), lo) }
                segmentStart = segEnd
                if segmentStart >= last { break }
            }
        }
        ComputeThreads.run(parts: tasks, run)
    }

    /// Writes rows `rows` of the matrix, dequantised to Float32, row-major to `out`
    /// (`rows.count · inputCount` floats). Values equal the GGUF loader's dequantisation.
    public func dequantizeRows(_ rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= outputCount)
        var segmentStart = 0, written = 0
        for seg in segments {
            let segEnd = segmentStart + seg.rows
            let lo = max(rows.lowerBound, segmentStart), hi = min(rows.upperBound, segEnd)
            if lo < hi {
                let src = seg.base + (lo - segmentStart) * seg.format.rowBytes(columns: seg.columns)
                let dst = out + written * inputCount
                let values = (hi - lo) * seg.columns
                switch seg.format {
                case .q4_1: aqk_dequantize_q4_1(src, values / 32, dst)
                case .q8_0: aqk_dequantize_q8_0(src, values / 32, dst)
                case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: values)
                }
                written += hi - lo
            }
            segmentStart = segEnd
            if segmentStart >= rows.upperBound { break }
        }
    }

    /// y[i] (+)= row (rows.lowerBound + i) of `seg` · x for every row in `rows`.
    @inline(__always)
    static func multiplyRows(
        _ seg: QuantizedRows, rows: Range<Int>, x: UnsafePointer<Float>, blockSums: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let blocks = seg.columns / 32
        let start = seg.base + rows.lowerBound * seg.format.rowBytes(columns: seg.columns)
        switch seg.format {
        case .q4_1:
            aqk_matvec_q4_1(start, Int32(rows.count), Int32(blocks), x, blockSums, y, accumulate ? 1 : 0)
        case .q8_0:
            aqk_matvec_q8_0(start, Int32(rows.count), Int32(blocks), x, y, accumulate ? 1 : 0)
        case .f32:
            let w = start.assumingMemoryBound(to: Float.self)
            for r in 0..<rows.count {
                var acc: Float = 0
                let row = w + r * seg.columns
                for i in 0..<seg.columns { acc += row[i] * x[i] }
                y[r] = accumulate ? y[r] + acc : acc
            }
        }
    }
}

/// A pointer handed to concurrent workers that only read through it.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>
    init(_ p: UnsafePointer<T>) { pointer = p }
}

/// A pointer handed to concurrent workers that write disjoint elements through it.
struct UnsafeSendableMutablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}

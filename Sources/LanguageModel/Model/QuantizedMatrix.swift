import CInferenceKernels
import Dispatch

/// Block formats that ``QuantizedMatrix`` multiplies without dequantising the whole matrix.
/// Layouts are ggml's (written out field by field beside the Swift dequantisers in
/// `GGUF/Dequantize+*.swift`): rows are stored one after another, a row is `columns / blockValues`
/// blocks.
public enum QuantizedFormat: Sendable, Equatable, CaseIterable {
    /// 32 values per 20-byte block: Float16 scale d, Float16 minimum m, 16 bytes of 4-bit
    /// codes (byte j holds value j in its low nibble and value j+16 in its high nibble);
    /// value = d·code + m.
    case q4_1
    /// 32 values per 34-byte block: Float16 scale d, 32 signed bytes; value = d·code.
    case q8_0
    /// 32 values per 22-byte block: Float16 d, 32 fifth bits, 16 nibble bytes; value = d·(code − 16).
    case q5_0
    /// 32 values per 24-byte block: Float16 d, Float16 m, 32 fifth bits, 16 nibble bytes;
    /// value = d·code + m.
    case q5_1
    /// 256 values per 144-byte super-block: eight 32-value sub-blocks with 6-bit scales and mins.
    case q4_K
    /// 256 values per 210-byte super-block: sixteen 16-value sub-blocks with int8 scales, 6-bit codes.
    case q6_K
    /// Plain little-endian Float32 values.
    case f32

    /// The format holding a GGUF tensor of `type` with rows of `columns` values, or nil when none
    /// does: a type without a kernel here, or `columns` not a positive multiple of its block
    /// (K-quants need a multiple of 256). A loader falls back to Float32 values on nil.
    public init?(ggmlType type: GGMLType, columns: Int) {
        guard let format = Self.allCases.first(where: { $0.ggmlType == type }), format.supports(columns: columns) else { return nil }
        self = format
    }

    /// The GGUF tensor type of this layout.
    public var ggmlType: GGMLType {
        switch self {
        case .q4_1: .q4_1
        case .q8_0: .q8_0
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q4_K: .q4_K
        case .q6_K: .q6_K
        case .f32: .f32
        }
    }

    /// Values per block: 1 (f32), 32, or 256 (K-quants) — the GGUF type's.
    public var blockValues: Int { ggmlType.blockSize }

    /// Bytes per block — the GGUF type's.
    public var blockBytes: Int { ggmlType.blockBytes }

    /// Whether rows of `columns` values can be held in this format: a positive multiple of
    /// ``blockValues``.
    public func supports(columns: Int) -> Bool { columns > 0 && columns % blockValues == 0 }

    /// Bytes of one row of `columns` values (whole blocks; see ``supports(columns:)``).
    public func rowBytes(columns: Int) -> Int { columns / blockValues * blockBytes }

    /// This format in the C kernels' enumeration (block formats only).
    var blockFormat: AQKBlockFormat {
        switch self {
        case .q4_1: AQK_FORMAT_Q4_1
        case .q8_0: AQK_FORMAT_Q8_0
        case .q5_0: AQK_FORMAT_Q5_0
        case .q5_1: AQK_FORMAT_Q5_1
        case .q4_K: AQK_FORMAT_Q4_K
        case .q6_K: AQK_FORMAT_Q6_K
        case .f32: preconditionFailure("f32 rows have no 8-bit product")
        }
    }

    /// How activations are rounded to 8 bits for a product with this format under
    /// ``ActivationPrecision/int8`` (llama.cpp's `vec_dot_type`); nil for f32.
    var activationBlocks: ActivationBlocks? {
        switch self {
        case .q4_1, .q8_0, .q5_0, .q5_1: .q8of32
        case .q4_K, .q6_K: .q8of256
        case .f32: nil
        }
    }
}

/// The two roundings of an activation row to 8 bits (``ActivationPrecision/int8``).
enum ActivationBlocks: Sendable, Equatable {
    /// 32-value blocks, scale max|x|/127 rounded to Float16 (llama.cpp's Q8_0/Q8_1):
    /// `aqk_quantize_activations`, `aqk_round_activations`.
    case q8of32
    /// 256-value super-blocks, Float32 scale from the signed maximum (llama.cpp's Q8_K):
    /// `aqk_quantize_activations_k`, `aqk_round_activations_k`.
    case q8of256

    /// Values per block.
    var values: Int { self == .q8of32 ? 32 : 256 }
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
    /// Values per row (a multiple of the format's ``QuantizedFormat/blockValues``).
    public let columns: Int

    /// Describes `rows` rows of `columns` values at `base`; `format.supports(columns: columns)`
    /// must hold (check it first, e.g. with ``QuantizedFormat/init(ggmlType:columns:)``).
    public init(base: UnsafeRawPointer, format: QuantizedFormat, rows: Int, columns: Int) {
        precondition(format.supports(columns: columns), "\(format) rows need a positive multiple of \(format.blockValues) columns, not \(columns)")
        self.base = base
        self.format = format
        self.rows = rows
        self.columns = columns
    }
}

/// A matrix kept in its quantised form for matrix–vector products (the decode path): each
/// product reads the blocks directly, ≈ 0.56 (Q4_K), 0.63 (Q4_1), 0.69 (Q5_0), 0.82 (Q6_K) or
/// 1.06 (Q8_0) bytes per weight instead of 4. Rows may come from several tensors stacked (e.g. Q,
/// K, V), in order, and in different formats.
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

    /// The activation rounding of each maximal run of segments sharing one, in row order: one
    /// entry unless the stack mixes 32-value formats (Q4_1, Q8_0, Q5_0, Q5_1) with K-quants.
    /// Needs ``isBlockQuantized``.
    var activationRuns: [(blocks: ActivationBlocks, rows: Range<Int>)] {
        var runs: [(blocks: ActivationBlocks, rows: Range<Int>)] = []
        var start = 0
        for seg in segments {
            let kind = seg.format.activationBlocks!
            if let last = runs.last, last.blocks == kind {
                runs[runs.count - 1].rows = last.rows.lowerBound..<(start + seg.rows)
            } else {
                runs.append((kind, start..<(start + seg.rows)))
            }
            start += seg.rows
        }
        return runs
    }

    /// y = W·x̃ (or y += W·x̃ when `accumulate`) where x̃ is x rounded to 8 bits as each segment's
    /// format takes it (``ActivationPrecision/int8``: 32-value blocks for Q4_1, Q8_0, Q5_0 and Q5_1,
    /// 256-value super-blocks for Q4_K and Q6_K), with integer dot products per block: llama.cpp's
    /// Q4_1 × Q8_1, Q8_0 × Q8_0, Q5_0 × Q8_0, Q5_1 × Q8_1, Q4_K × Q8_K and Q6_K × Q8_K products.
    /// Needs ``isBlockQuantized``. Splits rows over the available cores.
    public func multiplyInt8(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        precondition(isBlockQuantized, "8-bit activations need block-quantised rows")
        let kinds = Set(segments.map { $0.format.activationBlocks! == .q8of32 })
        let blocks = inputCount / 32, superBlocks = inputCount / 256
        var small: UnsafeMutablePointer<AQKActivationBlock>?
        var large: UnsafeMutablePointer<AQKActivationBlockK>?
        if kinds.contains(true) {
            small = .allocate(capacity: blocks)
            aqk_quantize_activations(x, Int32(blocks), small!)
        }
        if kinds.contains(false) {
            large = .allocate(capacity: superBlocks)
            aqk_quantize_activations_k(x, Int32(superBlocks), large!)
        }
        defer { small?.deallocate(); large?.deallocate() }
        let xs = small.map { UnsafeSendablePointer(UnsafePointer($0)) }, xk = large.map { UnsafeSendablePointer(UnsafePointer($0)) }
        let ys = UnsafeSendableMutablePointer(y)
        forEachRowRange { seg, rows, firstOutput in
            let start = seg.base + rows.lowerBound * seg.format.rowBytes(columns: seg.columns)
            let out = ys.pointer + firstOutput, n = Int32(rows.count), add: Int32 = accumulate ? 1 : 0
            switch seg.format {
            case .q4_1: aqk_matvec_q4_1_q8(start, n, Int32(blocks), xs!.pointer, out, add)
            case .q8_0: aqk_matvec_q8_0_q8(start, n, Int32(blocks), xs!.pointer, out, add)
            case .q5_0: aqk_matvec_q5_0_q8(start, n, Int32(blocks), xs!.pointer, out, add)
            case .q5_1: aqk_matvec_q5_1_q8(start, n, Int32(blocks), xs!.pointer, out, add)
            case .q4_K: aqk_matvec_q4_K_q8(start, n, Int32(superBlocks), xk!.pointer, out, add)
            case .q6_K: aqk_matvec_q6_K_q8(start, n, Int32(superBlocks), xk!.pointer, out, add)
            case .f32: preconditionFailure("unreachable: checked by isBlockQuantized")
            }
        }
    }

    /// The batched form of ``multiplyInt8(_:into:accumulate:)`` for `tokens` activation rows (row
    /// stride `inputStride` floats) into `tokens` output rows (row stride `outputStride`): each
    /// activation row is rounded once per activation run, and the products run as integer dot
    /// products over weights repacked 16 rows at a time (`aqk_gemm_q8`: AVX-512 VNNI, AVX2 or
    /// portable C, bit-identical), the rows split over the cores. Every output equals the
    /// single-vector product's up to Float32 summation order. Needs ``isBlockQuantized``.
    public func multiplyInt8(
        _ x: UnsafePointer<Float>, tokens: Int, inputStride: Int, into y: UnsafeMutablePointer<Float>, outputStride: Int,
        accumulate: Bool = false
    ) {
        precondition(isBlockQuantized, "8-bit activations need block-quantised rows")
        let k = inputCount, padded = (tokens + 7) / 8 * 8
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: aqk_prepared_activations_bytes(Int32(padded), Int32(k)), alignment: 64)
        defer { buffer.deallocate() }
        let prepared = PreparedActivations(buffer: buffer, rows: padded, columns: k)
        // The rows past `tokens` up to the tile size read as zeros.
        aqk_prepare_activations(nil, 0, Int32(padded - tokens), Int32(k), 0, prepared.rows(from: tokens))
        let xs = UnsafeSendablePointer(x), ys = UnsafeSendableMutablePointer(y)
        let add: Int32 = accumulate ? 1 : 0
        for run in activationRuns {
            let per256: Int32 = run.blocks == .q8of256 ? 1 : 0
            let halves = min(ComputeThreads.parallelism, tokens)
            ComputeThreads.run(parts: halves) { part in
                let first = tokens * part / halves, last = tokens * (part + 1) / halves
                aqk_prepare_activations(xs.pointer + first * inputStride, inputStride, Int32(last - first), Int32(k), per256,
                                        prepared.rows(from: first))
            }
            // Work items: up to 64 rows (4 panels) of one segment of the run.
            var items: [(segment: QuantizedRows, rows: Range<Int>, output: Int)] = []
            var start = 0
            for seg in segments {
                defer { start += seg.rows }
                guard run.rows.contains(start) else { continue }
                for r in stride(from: 0, to: seg.rows, by: 64) { items.append((seg, r..<min(seg.rows, r + 64), start + r)) }
            }
            let work = items
            let parts = min(ComputeThreads.parallelism, work.count)
            ComputeThreads.run(parts: parts) { part in
                var scratch: UnsafeMutableRawPointer?
                var scratchBytes = 0
                defer { scratch?.deallocate() }
                for item in stride(from: part, to: work.count, by: parts).map({ work[$0] }) {
                    let format = item.segment.format.blockFormat
                    let bytes = aqk_gemm_scratch_bytes(format, Int32(k))
                    if bytes > scratchBytes {
                        scratch?.deallocate()
                        scratch = .allocate(byteCount: bytes, alignment: 64)
                        scratchBytes = bytes
                    }
                    let rows = item.segment.base + item.rows.lowerBound * item.segment.format.rowBytes(columns: k)
                    aqk_gemm_q8(format, rows, Int32(item.rows.count), Int32(k), prepared.rows(from: 0), Int32(tokens),
                                ys.pointer + item.output, outputStride, add, scratch)
                }
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
                let blocks = values / seg.format.blockValues
                switch seg.format {
                case .q4_1: aqk_dequantize_q4_1(src, blocks, dst)
                case .q8_0: aqk_dequantize_q8_0(src, blocks, dst)
                case .q5_0: aqk_dequantize_q5_0(src, blocks, dst)
                case .q5_1: aqk_dequantize_q5_1(src, blocks, dst)
                case .q4_K: aqk_dequantize_q4_K(src, blocks, dst)
                case .q6_K: aqk_dequantize_q6_K(src, blocks, dst)
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
        let blocks = Int32(seg.columns / seg.format.blockValues)
        let start = seg.base + rows.lowerBound * seg.format.rowBytes(columns: seg.columns)
        let n = Int32(rows.count), add: Int32 = accumulate ? 1 : 0
        switch seg.format {
        case .q4_1: aqk_matvec_q4_1(start, n, blocks, x, blockSums, y, add)
        case .q8_0: aqk_matvec_q8_0(start, n, blocks, x, y, add)
        case .q5_0: aqk_matvec_q5_0(start, n, blocks, x, y, add)
        case .q5_1: aqk_matvec_q5_1(start, n, blocks, x, y, add)
        case .q4_K: aqk_matvec_q4_K(start, n, blocks, x, y, add)
        case .q6_K: aqk_matvec_q6_K(start, n, blocks, x, y, add)
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

/// A buffer of prepared activation rows (`aqk_prepared_activations_bytes`) handed to concurrent
/// workers: each writes its own rows, then all read.
private struct PreparedActivations: @unchecked Sendable {
    let buffer: UnsafeMutableRawPointer
    let rows: Int
    let columns: Int

    /// The view of rows `first` onwards.
    func rows(from first: Int) -> AQKPreparedActivations {
        aqk_prepared_activations_at(buffer, Int32(rows), Int32(columns), Int32(first))
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

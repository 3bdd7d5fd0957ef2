import CBLAS
import CInferenceKernels

/// A linear map y = W·x with W of `outputCount` rows × `inputCount` columns, stored row-major
/// in Float32 (the GGUF layout: a row is `inputCount` consecutive floats).
///
/// Single vectors go through ``quantized`` when the weights are also available in a block format
/// (the decode path), else `cblas_sgemv`. Batches with 8-bit activations and block-quantised
/// weights go through the integer panels of ``QuantizedMatrix/multiplyInt8(_:tokens:inputStride:into:outputStride:accumulate:)``
/// (AVX-512 VNNI, AVX2 or portable C: llama.cpp's arithmetic on every CPU); other batches through
/// BLAS (`cblas_sgemm`). A weight made with
/// ``init(quantized:)`` keeps no Float32 copy (``values`` is empty): a BLAS batch dequantises the
/// rows it needs into per-core scratch of at most ``dequantizeRowsPerPart`` rows, trading a little
/// prefill time for ≈ 4 bytes per weight of memory. Several
/// matrices with the same `inputCount` can be stacked (``stacking(_:)``) so that one GEMM
/// computes e.g. Q, K and V together; the outputs then sit side by side in each row.
public struct LinearWeight: Sendable {
    /// Rows of W (floats produced per token).
    public let outputCount: Int
    /// Columns of W (floats consumed per token).
    public let inputCount: Int
    /// W, row-major, `outputCount · inputCount` floats.
    public let values: [Float]
    /// The same matrix in its stored block format, used for single-vector products; nil when
    /// only Float32 values exist.
    public let quantized: QuantizedMatrix?

    /// Wraps row-major weights; `values.count` must equal `outputCount · inputCount`, and
    /// `quantized` (if any) must have the same shape and represent the same values.
    public init(outputCount: Int, inputCount: Int, values: [Float], quantized: QuantizedMatrix? = nil) {
        precondition(values.count == outputCount * inputCount, "LinearWeight: \(values.count) floats for \(outputCount)×\(inputCount)")
        precondition(quantized == nil || (quantized!.outputCount == outputCount && quantized!.inputCount == inputCount))
        self.outputCount = outputCount
        self.inputCount = inputCount
        self.values = values
        self.quantized = quantized
    }

    /// Wraps a block-format matrix without a Float32 copy: batched products dequantise on demand.
    public init(quantized: QuantizedMatrix) {
        self.outputCount = quantized.outputCount
        self.inputCount = quantized.inputCount
        self.values = []
        self.quantized = quantized
    }

    /// True when the Float32 values are not kept (see ``init(quantized:)``).
    public var dequantizesOnDemand: Bool { values.isEmpty && quantized != nil }

    /// Rows dequantised at a time by one core in a batched product of an on-demand weight.
    public static let dequantizeRowsPerPart = 256

    /// Stacks matrices with equal `inputCount` vertically (their rows one after another).
    public static func stacking(_ parts: [LinearWeight]) -> LinearWeight {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.inputCount == parts[0].inputCount })
        if parts.count == 1 { return parts[0] }
        if parts.allSatisfy(\.dequantizesOnDemand) {
            let q = QuantizedMatrix(segments: parts.flatMap { $0.quantized!.segments }, owner: parts[0].quantized!.ownerObject)
            return LinearWeight(quantized: q)
        }
        precondition(!parts.contains(where: \.dequantizesOnDemand), "cannot stack on-demand and Float32 weights")
        var all = [Float]()
        all.reserveCapacity(parts.reduce(0) { $0 + $1.values.count })
        for p in parts { all.append(contentsOf: p.values) }
        var quantized: QuantizedMatrix?
        if parts.allSatisfy({ $0.quantized != nil }) {
            quantized = QuantizedMatrix(segments: parts.flatMap { $0.quantized!.segments }, owner: parts[0].quantized!.ownerObject)
        }
        return LinearWeight(outputCount: parts.reduce(0) { $0 + $1.outputCount }, inputCount: parts[0].inputCount,
                            values: all, quantized: quantized)
    }

    /// Y = X·Wᵀ (or Y += X·Wᵀ when `accumulate`) for `rows` tokens: X is `rows × inputCount`
    /// with row stride `inputStride`, Y is `rows × outputCount` with row stride `outputStride`.
    /// With ``ActivationPrecision/int8`` and block-quantised weights, X enters as llama.cpp's CPU
    /// backend sees it: rounded to 8 bits per 32-value block for Q4_1, Q8_0, Q5_0 and Q5_1 rows,
    /// per 256-value super-block for Q4_K and Q6_K rows (X itself is not modified). A stack whose
    /// segments round differently (e.g. Q5_0 rows over Q4_K rows) multiplies each run of segments
    /// by X rounded its way, so every output equals the single-vector product's up to Float32
    /// summation order.
    public func apply(
        _ x: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil,
        into y: UnsafeMutablePointer<Float>, outputStride: Int? = nil, accumulate: Bool = false,
        activations: ActivationPrecision = .float32
    ) {
        let lda = Int32(inputStride ?? inputCount)
        let ldc = Int32(outputStride ?? outputCount)
        if activations == .int8, let quantized, quantized.isBlockQuantized {
            if rows == 1 {
                quantized.multiplyInt8(x, into: y, accumulate: accumulate)
                return
            }
            quantized.multiplyInt8(x, tokens: rows, inputStride: Int(lda), into: y, outputStride: Int(ldc), accumulate: accumulate)
            return
        }
        if rows == 1, let quantized {
            quantized.multiply(x, into: y, accumulate: accumulate)
            return
        }
        if rows == 1, !dequantizesOnDemand {
            values.withUnsafeBufferPointer { w in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outputCount), Int32(inputCount), 1,
                            w.baseAddress, Int32(inputCount), x, 1, accumulate ? 1 : 0, y, 1)
            }
            return
        }
        multiplyBatch(outputs: 0..<outputCount, x, rows: rows, lda: lda, into: y, ldc: ldc, accumulate: accumulate)
    }

    /// Y[:, outputs] (+)= X · W[outputs]ᵀ through BLAS, `y` pointing at output column
    /// `outputs.lowerBound` of the first token. Float32 weights: the output columns are split over
    /// the cores, each part a single-threaded GEMM. On-demand weights: the output columns are cut
    /// into slices of at most ``dequantizeRowsPerPart`` weight rows, shared out over the cores; each
    /// slice is dequantised into that core's scratch and multiplied by a single-threaded GEMM.
    private func multiplyBatch(
        outputs: Range<Int>, _ x: UnsafePointer<Float>, rows: Int, lda: Int32,
        into y: UnsafeMutablePointer<Float>, ldc: Int32, accumulate: Bool
    ) {
        let n = outputs.count, k = inputCount, offset = outputs.lowerBound
        let xs = UnsafeSendablePointer(x), ys = UnsafeSendableMutablePointer(y)
        if dequantizesOnDemand, let matrix = quantized {
            let slice = Self.dequantizeRowsPerPart
            let slices = (n + slice - 1) / slice
            let parts = min(ComputeThreads.parallelism, slices)
            ComputeThreads.run(parts: parts) { part in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: slice * k)
                defer { scratch.deallocate() }
                var s = part
                while s < slices {
                    let first = s * slice, count = min(slice, n - first)
                    matrix.dequantizeRows((offset + first)..<(offset + first + count), into: scratch)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(k),
                                1, xs.pointer, lda, scratch, Int32(k), accumulate ? 1 : 0, ys.pointer + first, ldc)
                    s += parts
                }
            }
            return
        }
        values.withUnsafeBufferPointer { w in
            let parts = min(ComputeThreads.parallelism, max(1, n / 64))
            let per = (n + parts - 1) / parts
            let ws = UnsafeSendablePointer(w.baseAddress! + offset * k)
            ComputeThreads.run(parts: parts) { part in
                let first = part * per, count = min(per, n - first)
                guard count > 0 else { return }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(k),
                            1, xs.pointer, lda, ws.pointer + first * k, Int32(k), accumulate ? 1 : 0, ys.pointer + first, ldc)
            }
        }
    }
}

import CBLAS
import CInferenceKernels

/// Causal, optionally sliding-window, attention of a chunk of queries over keys and values held
/// in contiguous rows per KV head: the computation shared by ``DenseAttentionCache`` (every key
/// of the sequence) and ``SlidingWindowCache`` (the last window of keys). Holds the scratch of
/// one sequence; not thread-safe.
final class CausalAttention {
    /// Query rows per score block (bounds the scratch to `queryBlock · visible keys` floats per head).
    static let queryBlock = 128
    /// Keys from which single-query attention splits its heads over ``ComputeThreads``.
    static let parallelDecodeContext = 256

    private var rotatedQueries: [Float] = []
    private var scores: [Float] = []

    /// Attention output of `n` queries at positions `start ..< start+n` (`n × H·d` floats,
    /// un-rotated; rotated here with `rope`) into `output` (`n × H·d`). Key row j of KV head g is
    /// at `keys + g·headStride + j·d` and holds position `keyOffset + j` (already rotated);
    /// values likewise. The query at position p sees keys `max(0, p − window + 1) ... p`, all of
    /// which must be held: `keyOffset ≤ max(0, start − window + 1)`, rows up to `start + n − keyOffset`.
    func attend(
        config: ModelConfig, rope: RotaryEmbedding, queries: UnsafePointer<Float>, rows n: Int, start: Int, window: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, headStride: Int, keyOffset: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let d = config.headDimension, h = config.headCount, groupSize = config.groupSize
        let qWidth = h * d
        precondition(keyOffset <= max(0, start + 1 - window))
        if rotatedQueries.count < n * qWidth { rotatedQueries = [Float](repeating: 0, count: n * qWidth) }
        let blockRows = min(Self.queryBlock, n)
        let scratchPerHead = blockRows * min(start + n - keyOffset, window + blockRows)
        if scores.count < h * scratchPerHead {
            // Grow geometrically (decoding needs one more column per token).
            scores = [Float](repeating: 0, count: max(h * scratchPerHead, 2 * scores.count))
        }
        let scale = 1 / Float(d).squareRoot()
        rotatedQueries.withUnsafeMutableBufferPointer { qb in
            scores.withUnsafeMutableBufferPointer { sb in
                qb.baseAddress!.update(from: queries, count: n * qWidth)
                rope.rotate(rows: n, qb.baseAddress!, heads: h, startPosition: start)
                let q = UnsafeSendablePointer(UnsafePointer(qb.baseAddress!))
                let scratch = UnsafeSendableMutablePointer(sb.baseAddress!)
                let keyBase = UnsafeSendablePointer(keys), valueBase = UnsafeSendablePointer(values)
                let out = UnsafeSendableMutablePointer(output)
                // Heads in parallel; each uses its own score scratch and single-threaded BLAS. A single
                // query (decoding) splits the heads over the cores only once the context is long
                // enough (≥ parallelDecodeContext keys) to pay for the hand-off.
                let seen = min(start + 1, window)
                let parts = n > 1 ? h : (seen >= Self.parallelDecodeContext ? min(h, ComputeThreads.parallelism) : 1)
                ComputeThreads.run(parts: parts) { part in
                    for head in (part * h / parts)..<((part + 1) * h / parts) {
                        Self.attendHead(q: q.pointer + head * d, qStride: qWidth,
                                        keys: keyBase.pointer + (head / groupSize) * headStride,
                                        values: valueBase.pointer + (head / groupSize) * headStride, keyOffset: keyOffset,
                                        rows: n, start: start, window: window, dimension: d, scale: scale, blockRows: blockRows,
                                        scores: scratch.pointer + head * scratchPerHead,
                                        output: out.pointer + head * d, outputStride: qWidth)
                    }
                }
            }
        }
    }

    /// One head: `rows` queries (row stride `qStride`, rotated) at positions `start ..< start+rows`;
    /// key/value row j (of `dimension` floats) holds position `keyOffset + j`.
    private static func attendHead(
        q: UnsafePointer<Float>, qStride: Int, keys kg: UnsafePointer<Float>, values vg: UnsafePointer<Float>, keyOffset: Int,
        rows n: Int, start: Int, window: Int, dimension d: Int, scale: Float, blockRows: Int, scores s: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if n == 1 {
            // Single query (decoding): a vectorised loop, no BLAS call.
            let first = max(0, start + 1 - window) - keyOffset
            let count = start + 1 - keyOffset - first
            aqk_attend_one(q, kg + first * d, vg + first * d, Int32(count), Int32(d), scale, s, output)
            return
        }
        var i0 = 0
        while i0 < n {
            let rows = min(blockRows, n - i0)
            let first = max(0, start + i0 + 1 - window) - keyOffset  // row of the first key the block's first row sees
            let visible = start + i0 + rows - keyOffset - first      // rows first ..< (start+i0+rows − keyOffset)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(visible), Int32(d),
                        scale, q + i0 * qStride, Int32(qStride), kg + first * d, Int32(d), 0, s, Int32(visible))
            for r in 0..<rows {
                let row = s + r * visible
                let p = start + i0 + r
                let lo = max(0, p + 1 - window) - keyOffset - first, hi = p + 1 - keyOffset - first  // this row's keys
                Softmax.normalize(row + lo, count: hi - lo)
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if hi < visible { (row + hi).update(repeating: 0, count: visible - hi) }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(visible),
                        1, s, Int32(visible), vg + first * d, Int32(d), 0, output + i0 * outputStride, Int32(outputStride))
            i0 += rows
        }
    }
}

import CBLAS
import CInferenceKernels

/// Full causal attention with every key and value of the sequence kept in memory: the dense
/// baseline and the quality reference of the project. A sliding-window layer
/// (``LayerAttention/sliding(window:)``) attends only to the keys inside its window; its older
/// keys are kept but never read.
///
/// Storage per layer: K (rotated when stored) and V, laid out `[kvHead][capacity][d]` Float32,
/// i.e. `2 · layerCount · kvHeadCount · capacity · headDimension · 4` bytes in total, allocated
/// up front. Queries are processed in blocks of ``queryBlock`` rows through `cblas_sgemm`,
/// each block against only the keys it can see (causal).
public final class DenseAttentionCache: AttentionBackend {
    /// Maximum sequence length in tokens.
    public let capacity: Int
    /// Tokens processed so far.
    public private(set) var position: Int = 0
    /// Query rows per score block (bounds the scratch to `queryBlock · capacity` floats).
    public let queryBlock = 128
    /// Keys from which single-query attention splits its heads over ``ComputeThreads``.
    static let parallelDecodeContext = 256

    private let config: ModelConfig
    private let ropes: [RotaryEmbedding]
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    private var rotatedQueries: [Float] = []
    private var scores: [Float] = []

    /// Allocates a cache for `capacity` tokens of a model with `config`, rotating layer ℓ with
    /// `ropes[ℓ]`.
    public init(config: ModelConfig, ropes: [RotaryEmbedding], capacity: Int) {
        precondition(capacity > 0 && ropes.count == config.layerCount)
        self.config = config
        self.ropes = ropes
        self.capacity = capacity
        let count = config.layerCount * config.kvHeadCount * capacity * config.headDimension
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
        keys.initialize(repeating: 0, count: count)
        values.initialize(repeating: 0, count: count)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes of K/V storage held by this cache.
    public var storageBytes: Int { 2 * config.layerCount * config.kvHeadCount * capacity * config.headDimension * 4 }

    /// Forgets every token (keeps the allocation).
    public func reset() { position = 0 }

    public func advance(by tokenCount: Int) { position += tokenCount }

    public func attend(
        layer: Int, queries: UnsafePointer<Float>, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
        tokenCount n: Int, output: UnsafeMutablePointer<Float>
    ) throws(ModelError) {
        guard n > 0 else { return }
        let start = position
        guard start + n <= capacity else { throw .contextOverflow(requested: start + n, capacity: capacity) }
        let d = config.headDimension, hkv = config.kvHeadCount, h = config.headCount
        let kvWidth = hkv * d, qWidth = h * d
        let layerBase = layer * hkv * capacity * d
        let rope = ropes[layer], window = config.layerAttention[layer].window ?? capacity

        // Store K (rotated at its absolute position) and V.
        for t in 0..<n {
            for g in 0..<hkv {
                let dst = layerBase + (g * capacity + start + t) * d
                (keys + dst).update(from: newKeys + t * kvWidth + g * d, count: d)
                rope.rotate(keys + dst, heads: 1, position: start + t)
                (values + dst).update(from: newValues + t * kvWidth + g * d, count: d)
            }
        }

        if rotatedQueries.count < n * qWidth { rotatedQueries = [Float](repeating: 0, count: n * qWidth) }
        let blockRows = min(queryBlock, n)
        let scratchPerHead = blockRows * (start + n)
        if scores.count < h * scratchPerHead {
            // Grow geometrically (decoding needs one more column per token), up to the largest need.
            let grown = min(max(h * scratchPerHead, 2 * scores.count), h * queryBlock * capacity)
            scores = [Float](repeating: 0, count: max(grown, h * scratchPerHead))
        }
        let scale = 1 / Float(d).squareRoot()
        let groupSize = config.groupSize, capacity = self.capacity

        rotatedQueries.withUnsafeMutableBufferPointer { qb in
            scores.withUnsafeMutableBufferPointer { sb in
                qb.baseAddress!.update(from: queries, count: n * qWidth)
                rope.rotate(rows: n, qb.baseAddress!, heads: h, startPosition: start)
                let q = UnsafeSendablePointer(UnsafePointer(qb.baseAddress!))
                let scratch = UnsafeSendableMutablePointer(sb.baseAddress!)
                let keyBase = UnsafeSendablePointer(UnsafePointer(keys + layerBase))
                let valueBase = UnsafeSendablePointer(UnsafePointer(values + layerBase))
                let out = UnsafeSendableMutablePointer(output)
                // Heads in parallel; each uses its own score scratch and single-threaded BLAS. A single
                // query (decoding) splits the heads over the cores only once the context is long
                // enough (≥ parallelDecodeContext keys) to pay for the hand-off.
                let parts = n > 1 ? h : (start + 1 >= Self.parallelDecodeContext ? min(h, ComputeThreads.parallelism) : 1)
                ComputeThreads.run(parts: parts) { part in
                    let heads = (part * h / parts)..<((part + 1) * h / parts)
                    for head in heads {
                        let s = scratch.pointer + head * scratchPerHead
                        let kg = keyBase.pointer + (head / groupSize) * capacity * d
                        let vg = valueBase.pointer + (head / groupSize) * capacity * d
                        Self.attendHead(q: q.pointer + head * d, qStride: qWidth, keys: kg, values: vg, rows: n, start: start,
                                        window: window, dimension: d, scale: scale, blockRows: blockRows, scores: s,
                                        output: out.pointer + head * d, outputStride: qWidth)
                    }
                }
            }
        }
    }

    /// Causal attention of `rows` queries (row stride `qStride`) at positions `start ..< start+rows`
    /// over keys/values (rows of `dimension` floats): the query at position p sees keys
    /// `max(0, p − window + 1) ... p`.
    private static func attendHead(
        q: UnsafePointer<Float>, qStride: Int, keys kg: UnsafePointer<Float>, values vg: UnsafePointer<Float>,
        rows n: Int, start: Int, window: Int, dimension d: Int, scale: Float, blockRows: Int, scores s: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if n == 1 {
            // Single query (decoding): a vectorised loop, no BLAS call.
            let first = max(0, start + 1 - window)
            aqk_attend_one(q, kg + first * d, vg + first * d, Int32(start + 1 - first), Int32(d), scale, s, output)
            return
        }
        var i0 = 0
        while i0 < n {
            let rows = min(blockRows, n - i0)
            let first = max(0, start + i0 + 1 - window)  // first key seen by the block's first row
            let visible = start + i0 + rows - first       // keys first ..< start+i0+rows
            let k0 = kg + first * d, v0 = vg + first * d
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(visible), Int32(d),
                        scale, q + i0 * qStride, Int32(qStride), k0, Int32(d), 0, s, Int32(visible))
            for r in 0..<rows {
                let row = s + r * visible
                let p = start + i0 + r
                let lo = max(0, p + 1 - window) - first, hi = p + 1 - first  // this row's keys, relative to `first`
                Softmax.normalize(row + lo, count: hi - lo)
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if hi < visible { (row + hi).update(repeating: 0, count: visible - hi) }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(visible),
                        1, s, Int32(visible), v0, Int32(d), 0, output + i0 * outputStride, Int32(outputStride))
            i0 += rows
        }
    }
}

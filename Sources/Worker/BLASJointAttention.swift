import ActQKV
import CBLAS
import CInferenceKernels
import Dispatch

/// ``JointAttentionEngine`` on OpenBLAS: per query head (heads in parallel over the cores), query
/// rows in blocks of ``rowBlock``; each block's logits against the memory rows and against the
/// local slice are two `cblas_sgemm` calls, masked entries are excluded, the joint softmax is the
/// vectorised `aqk_softmax`, and the outputs are two more `cblas_sgemm` calls.
///
/// Agrees with ``PortableJointAttention`` to Float32 rounding (tested); masked entries get
/// probability exactly 0.
public struct BLASJointAttention: JointAttentionEngine {
    /// Query rows per block (bounds the scratch to `rowBlock × visible rows` floats per head).
    public let rowBlock: Int

    /// Creates the engine; `rowBlock` ≥ 1 (default 64).
    public init(rowBlock: Int = 64) { self.rowBlock = max(1, rowBlock) }

    /// Logit given to masked entries before the softmax (its exponential underflows to ~e⁻⁸⁷ and
    /// the entry is then set to 0).
    static let masked: Float = -1e30

    public func attend(_ p: JointAttentionProblem) {
        let h = p.shape.heads
        let shared = SharedProblem(p)
        if p.count == 1 || h == 1 {
            for head in 0..<h { Self.attend(shared.problem, head: head, rowBlock: rowBlock) }
        } else {
            let rowBlock = self.rowBlock
            DispatchQueue.concurrentPerform(iterations: h) { head in Self.attend(shared.problem, head: head, rowBlock: rowBlock) }
        }
    }

    /// One query head over all rows.
    static func attend(_ p: JointAttentionProblem, head: Int, rowBlock: Int) {
        let d = p.shape.headDim, h = p.shape.heads, dq = p.shape.queryWidth, n = p.rowsPerKVHead, m = p.memoryTokens
        let g = p.shape.kvHead(forQueryHead: head)
        let kg = p.keys + g * n * d, vg = p.values + g * n * d
        let scale = p.scale
        let rows = min(rowBlock, p.count)
        let qMem = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let qLocal = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: rows * max(1, n))
        defer { qMem.deallocate(); qLocal.deallocate(); scores.deallocate() }
        var i0 = 0
        while i0 < p.count {
            let i1 = min(p.count, i0 + rows), r = i1 - i0
            for i in i0..<i1 {
                let src = p.queries + i * dq + head * d, a = qMem + (i - i0) * d, b = qLocal + (i - i0) * d
                for j in 0..<d { a[j] = src[j] * scale; b[j] = a[j] }
                p.rope.apply(a, position: p.memoryQueryPosition)
                p.rope.apply(b, position: p.firstLocalQueryPosition + i)
            }
            let memCols = p.memoryVisible(row: i1 - 1)
            let lo = p.localVisible(row: i0).lowerBound, hi = p.localVisible(row: i1 - 1).upperBound
            let width = memCols + (hi - lo)
            if memCols > 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r), Int32(memCols), Int32(d),
                            1, qMem, Int32(d), kg, Int32(d), 0, scores, Int32(width))
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r), Int32(hi - lo), Int32(d),
                        1, qLocal, Int32(d), kg + (m + lo) * d, Int32(d), 0, scores + memCols, Int32(width))
            for i in i0..<i1 {
                let row = scores + (i - i0) * width
                let mv = p.memoryVisible(row: i), local = p.localVisible(row: i)
                let a = memCols + local.lowerBound - lo, b = memCols + local.upperBound - lo
                if mv < a { (row + mv).update(repeating: masked, count: a - mv) }
                if b < width { (row + b).update(repeating: masked, count: width - b) }
                aqk_softmax(row, Int32(width))
                if mv < a { (row + mv).update(repeating: 0, count: a - mv) }
                if b < width { (row + b).update(repeating: 0, count: width - b) }
                for l in local { p.localScores[l * h + head] += row[memCols + l - lo] }
            }
            let out = p.output + i0 * dq + head * d
            if memCols > 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r), Int32(d), Int32(memCols),
                            1, scores, Int32(width), vg, Int32(d), 0, out, Int32(dq))
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r), Int32(d), Int32(hi - lo),
                        1, scores + memCols, Int32(width), vg + (m + lo) * d, Int32(d), memCols > 0 ? 1 : 0, out, Int32(dq))
            i0 = i1
        }
    }
}

/// The problem's pointers, shared by the per-head workers (each head writes disjoint output
/// columns and disjoint score entries).
private struct SharedProblem: @unchecked Sendable {
    let problem: JointAttentionProblem
    init(_ problem: JointAttentionProblem) { self.problem = problem }
}

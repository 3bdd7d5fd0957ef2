/// One chunk's joint attention as ``LayerMemory`` lays it out (docs/ACTQKV.md §"Joint attention" with
/// the per-query masking of docs/ACTQKV.md §"Decisions"), handed to a ``JointAttentionEngine``.
///
/// Keys and values are `[kvHead][token][d]` Float32 with `memoryTokens + localTokens` rows per KV
/// head: first the memory rows (sink, recalled blocks, out-of-window remainder; keys raw, seen by
/// queries rotated to ``memoryQueryPosition``), then the local slice (keys rotated by their index in
/// the slice, seen by row i's query rotated to ``firstLocalQueryPosition`` + i). Row i sees memory
/// rows `0..<memoryVisible(row: i)` and local rows `localVisible(row: i)`; every past token is seen
/// exactly once. The pointers are valid only during ``JointAttentionEngine/attend(_:)``.
public struct JointAttentionProblem {
    /// Head layout.
    public let shape: AttentionShape
    /// Rotary embedding applied to the queries.
    public let rope: RotaryEmbedding
    /// Query rows (tokens) of the chunk, c ≥ 1.
    public let count: Int
    /// Raw (un-rotated) queries, `count × H × d`.
    public let queries: UnsafePointer<Float>
    /// Keys, `kvHeads × (memoryTokens + localTokens) × d` (layout above).
    public let keys: UnsafePointer<Float>
    /// Values, same layout as ``keys``.
    public let values: UnsafePointer<Float>
    /// Memory rows per KV head: sink + recalled block tokens + remainder.
    public let memoryTokens: Int
    /// Memory rows every query sees (sink + recalled block tokens); the remainder follows them.
    public let fixedMemoryTokens: Int
    /// Remainder rows visible to row 0 before clamping to `0...memoryTokens − fixedMemoryTokens`;
    /// row i sees `remainderBase + i` of them.
    public let remainderBase: Int
    /// Local rows per KV head.
    public let localTokens: Int
    /// First local row visible to row 0 before clamping at 0 (row i: + i); nil: every local row up
    /// to the query's own (full causal attention, method `dense`).
    public let localLowBase: Int?
    /// Local row of row 0's own token (row i: + i); also row 0's local query rotation position.
    public let firstLocalQueryPosition: Int
    /// Rotation position of every query against memory rows (W − 1).
    public let memoryQueryPosition: Int
    /// Receives the attention output, `count × H × d`.
    public let output: UnsafeMutablePointer<Float>
    /// Local score accumulators: `localScores[l · H + head] += p` for the joint probability p of
    /// local row l under query head `head`, summed over the chunk's rows.
    public let localScores: UnsafeMutablePointer<Float>

    /// Creates a problem; see the properties for the meaning of each argument.
    public init(shape: AttentionShape, rope: RotaryEmbedding, count: Int, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>,
                values: UnsafePointer<Float>, memoryTokens: Int, fixedMemoryTokens: Int, remainderBase: Int, localTokens: Int,
                localLowBase: Int?, firstLocalQueryPosition: Int, memoryQueryPosition: Int, output: UnsafeMutablePointer<Float>,
                localScores: UnsafeMutablePointer<Float>) {
        self.shape = shape; self.rope = rope; self.count = count; self.queries = queries; self.keys = keys; self.values = values
        self.memoryTokens = memoryTokens; self.fixedMemoryTokens = fixedMemoryTokens; self.remainderBase = remainderBase
        self.localTokens = localTokens; self.localLowBase = localLowBase; self.firstLocalQueryPosition = firstLocalQueryPosition
        self.memoryQueryPosition = memoryQueryPosition; self.output = output; self.localScores = localScores
    }

    /// Rows per KV head in ``keys`` and ``values``.
    @inlinable public var rowsPerKVHead: Int { memoryTokens + localTokens }
    /// Softmax scale 1/√d.
    @inlinable public var scale: Float { 1 / Float(shape.headDim).squareRoot() }

    /// Memory rows seen by query row `i`: `0..<memoryVisible(row: i)`.
    @inlinable public func memoryVisible(row i: Int) -> Int {
        fixedMemoryTokens + min(memoryTokens - fixedMemoryTokens, max(0, remainderBase + i))
    }

    /// Local rows seen by query row `i` (its own token is the last).
    @inlinable public func localVisible(row i: Int) -> Range<Int> {
        let hi = firstLocalQueryPosition + i + 1
        guard let base = localLowBase else { return 0..<hi }
        return max(0, base + i)..<hi
    }
}

/// Computes a ``JointAttentionProblem``: softmax over the visible memory and local rows jointly,
/// outputs, and local score accumulation. Implementations must agree with
/// ``PortableJointAttention`` to Float32 rounding.
public protocol JointAttentionEngine: Sendable {
    /// Solves `problem`, writing `problem.output` and adding to `problem.localScores`.
    func attend(_ problem: JointAttentionProblem)
}

/// The reference engine in plain Swift: one query row and head at a time (no dependencies).
public struct PortableJointAttention: JointAttentionEngine {
    /// Creates the engine.
    public init() {}

    public func attend(_ p: JointAttentionProblem) {
        let d = p.shape.headDim, h = p.shape.heads, dq = p.shape.queryWidth, n = p.rowsPerKVHead, m = p.memoryTokens
        let scale = p.scale
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
        let qMem = UnsafeMutablePointer<Float>.allocate(capacity: 2 * d)
        let qLocal = qMem + d
        defer { logits.deallocate(); qMem.deallocate() }
        for i in 0..<p.count {
            let memVisible = p.memoryVisible(row: i), local = p.localVisible(row: i)
            for head in 0..<h {
                let g = p.shape.kvHead(forQueryHead: head)
                let k = p.keys + g * n * d, v = p.values + g * n * d
                for j in 0..<d { qMem[j] = p.queries[i * dq + head * d + j] * scale; qLocal[j] = qMem[j] }
                p.rope.apply(qMem, position: p.memoryQueryPosition)
                p.rope.apply(qLocal, position: p.firstLocalQueryPosition + i)
                var count = 0
                for t in 0..<memVisible { logits[count] = VectorKernels.dot(qMem, k + t * d, count: d); count += 1 }
                for l in local { logits[count] = VectorKernels.dot(qLocal, k + (m + l) * d, count: d); count += 1 }
                Softmax.inPlace(UnsafeMutableBufferPointer(start: logits, count: count))
                let out = p.output + i * dq + head * d
                for j in 0..<d { out[j] = 0 }
                for t in 0..<memVisible { VectorKernels.axpy(logits[t], v + t * d, out, count: d) }
                for (r, l) in local.enumerated() {
                    let prob = logits[memVisible + r]
                    VectorKernels.axpy(prob, v + (m + l) * d, out, count: d)
                    p.localScores[l * h + head] += prob
                }
            }
        }
    }
}

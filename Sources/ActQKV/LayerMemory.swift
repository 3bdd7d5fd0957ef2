import CoreTypes

/// Worker-side state of one layer of one session: the token life cycle (docs/ACTQKV.md §"Token life cycle") and
/// joint attention over sink ∪ recalled blocks ∪ out-of-window remainder ∪ local window (docs/ACTQKV.md §"Joint attention",
/// with the per-query masking of docs/ACTQKV.md §"Decisions": every past token is seen exactly once per query).
///
/// Every past token is, at any time, in exactly one of: ``sinkRange`` (the first S tokens, once they
/// leave the window), a closed block (``closedBlocks`` of them, in order from position S), or
/// ``recentRange`` (local window plus out-of-window remainder). Keys are stored raw (un-rotated).
/// With method `dense` no token ever leaves ``recentRange`` and attention is full causal attention.
public struct LayerMemory: Sendable {
    /// Head layout.
    public let shape: AttentionShape
    /// Algorithm parameters (S, W, E, b, r are used here).
    public let config: RetrievalConfig
    /// Method of the session.
    public let method: RetrievalMethod
    /// Rotary embedding of the model.
    public let rope: RotaryEmbedding

    /// Tokens processed so far (the absolute position of the next token).
    public internal(set) var position = 0
    /// Tokens in the sink (positions 0..<sinkCount).
    public internal(set) var sinkCount = 0
    /// Blocks closed so far.
    public internal(set) var closedBlocks = 0
    /// Absolute position of the oldest token of the remainder.
    public internal(set) var recentStart = 0

    var sinkKeys: [Float] = []       // [token][kvHeads·d]
    var sinkValues: [Float] = []
    var recentKeys: [Float] = []     // [token][kvHeads·d], positions recentStart..<position
    var recentValues: [Float] = []
    var recentScores: [Float] = []   // [token][H], accumulated joint probabilities

    /// A layer with no token yet.
    public init(shape: AttentionShape, config: RetrievalConfig, method: RetrievalMethod, rope: RotaryEmbedding) {
        self.shape = shape; self.config = config; self.method = method; self.rope = rope
    }

    /// Positions held as sink tokens.
    public var sinkRange: Range<Int> { 0..<sinkCount }
    /// Positions covered by closed blocks.
    public var blockRange: Range<Int> { sinkCount..<(sinkCount + closedBlocks * config.blockSize) }
    /// Positions held in the local window or the out-of-window remainder.
    public var recentRange: Range<Int> { recentStart..<position }

    /// Accumulated local score of the token at `position` for query head `head` (tokens still in
    /// ``recentRange`` only).
    public func localScore(position p: Int, head: Int) -> Float? {
        guard recentRange.contains(p), (0..<shape.heads).contains(head) else { return nil }
        return recentScores[(p - recentStart) * shape.heads + head]
    }

    /// Rotates `count` raw query rows (each H·d floats, head-major) to the fixed memory position
    /// W−1: the frame of probes, questions and activation statistics.
    public func probeQueries(_ queries: UnsafeBufferPointer<Float>, count: Int) throws(AttentionError) -> [Float] {
        let dq = shape.queryWidth
        guard queries.count == count * dq else { throw .bufferSizeMismatch(buffer: "queries", expected: count * dq, actual: queries.count) }
        var out = Array(queries)
        out.withUnsafeMutableBufferPointer { o in
            for row in 0..<(count * shape.heads) { rope.apply(o.baseAddress! + row * shape.headDim, position: config.localWindow - 1) }
        }
        return out
    }

    /// The question vector u (docs/ACTQKV.md §"Question term") for a question span already processed and still in
    /// ``recentRange``: per head, the r span tokens with the largest local score (ties: earlier
    /// token), u_h = mean of their rotated queries. `rotatedQueries`: the span's rows from
    /// ``probeQueries(_:count:)``, `span.count × D`.
    public func questionVector(span: Range<Int>, rotatedQueries: UnsafeBufferPointer<Float>) throws(AttentionError) -> [Float] {
        let dq = shape.queryWidth, d = shape.headDim, h = shape.heads
        guard !span.isEmpty, span.lowerBound >= recentStart, span.upperBound <= position else { throw .positionsUnavailable(span) }
        guard rotatedQueries.count == span.count * dq else {
            throw .bufferSizeMismatch(buffer: "rotatedQueries", expected: span.count * dq, actual: rotatedQueries.count)
        }
        let r = min(config.representativeTokens, span.count)
        var u = [Float](repeating: 0, count: dq)
        for head in 0..<h {
            let column = span.map { recentScores[($0 - recentStart) * h + head] }
            let best = column.withUnsafeBufferPointer { TopK.indices(of: $0, k: r) }
            for t in best { for j in 0..<d { u[head * d + j] += rotatedQueries[t * dq + head * d + j] } }
            for j in 0..<d { u[head * d + j] /= Float(r) }
        }
        return u
    }

    /// Attends one chunk and advances the life cycle.
    ///
    /// - Parameters:
    ///   - queries: raw (un-rotated) queries, `count × H × d`.
    ///   - keys, values: raw K and V of the chunk's tokens, `count × H_kv × d` each.
    ///   - recalled: the selected blocks' K/V (any order; none for `dense`).
    ///   - output: receives the attention output, `count × H × d`.
    ///   - engine: computes the joint attention (default ``PortableJointAttention``).
    /// - Returns: the blocks closed after this chunk (their local scores are final).
    public mutating func process(queries: UnsafeBufferPointer<Float>, keys: UnsafeBufferPointer<Float>,
                                 values: UnsafeBufferPointer<Float>, count c: Int, recalled: [BlockKV],
                                 output: UnsafeMutableBufferPointer<Float>,
                                 engine: any JointAttentionEngine = PortableJointAttention()) throws(AttentionError) -> [ClosedBlock] {
        let dq = shape.queryWidth, kw = shape.kvWidth, d = shape.headDim, h = shape.heads
        guard c >= 1 else { throw .invalidChunkLength(c) }
        guard queries.count == c * dq else { throw .bufferSizeMismatch(buffer: "queries", expected: c * dq, actual: queries.count) }
        guard keys.count == c * kw else { throw .bufferSizeMismatch(buffer: "keys", expected: c * kw, actual: keys.count) }
        guard values.count == c * kw else { throw .bufferSizeMismatch(buffer: "values", expected: c * kw, actual: values.count) }
        guard output.count == c * dq else { throw .bufferSizeMismatch(buffer: "output", expected: c * dq, actual: output.count) }
        for (i, b) in recalled.enumerated() where b.keys.count != kw * b.tokens || b.values.count != kw * b.tokens || b.tokens < 0 {
            throw .blockShapeMismatch(index: i)
        }
        if method == .dense && !recalled.isEmpty { throw .blockShapeMismatch(index: 0) }

        let p0 = position
        recentKeys.append(contentsOf: keys)
        recentValues.append(contentsOf: values)
        recentScores.append(contentsOf: repeatElement(0, count: c * h))
        position += c

        let dense = method == .dense
        let w = config.localWindow
        let sliceStart = dense ? recentStart : max(recentStart, p0 - w + 1)
        let sliceLen = position - sliceStart
        let remainderOut = dense ? 0 : max(0, position - w - recentStart)
        let blockTokens = recalled.reduce(0) { $0 + $1.tokens }
        let m = dense ? 0 : sinkCount + blockTokens + remainderOut
        let n = m + sliceLen
        // [kvHead][row][d]: memory rows raw (sink | recalled blocks | out-of-window remainder), then
        // the local slice, keys rotated by their index in the slice.
        let allK = UnsafeMutablePointer<Float>.allocate(capacity: shape.kvHeads * n * d)
        let allV = UnsafeMutablePointer<Float>.allocate(capacity: shape.kvHeads * n * d)
        defer { allK.deallocate(); allV.deallocate() }
        sinkKeys.withUnsafeBufferPointer { sk in sinkValues.withUnsafeBufferPointer { sv in
        recentKeys.withUnsafeBufferPointer { rk in recentValues.withUnsafeBufferPointer { rv in
            for g in 0..<shape.kvHeads {
                var row = g * n
                func copyRows(_ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, tokens: Int) {
                    for t in 0..<tokens {
                        (allK + (row + t) * d).update(from: k + t * kw + g * d, count: d)
                        (allV + (row + t) * d).update(from: v + t * kw + g * d, count: d)
                    }
                    row += tokens
                }
                if m > 0 {
                    if sinkCount > 0 { copyRows(sk.baseAddress!, sv.baseAddress!, tokens: sinkCount) }
                    for b in recalled where b.tokens > 0 {
                        b.keys.withUnsafeBufferPointer { (allK + row * d).update(from: $0.baseAddress! + g * b.tokens * d, count: b.tokens * d) }
                        b.values.withUnsafeBufferPointer { (allV + row * d).update(from: $0.baseAddress! + g * b.tokens * d, count: b.tokens * d) }
                        row += b.tokens
                    }
                    if remainderOut > 0 { copyRows(rk.baseAddress!, rv.baseAddress!, tokens: remainderOut) }
                }
                let local = row
                let offset = (sliceStart - recentStart) * kw
                copyRows(rk.baseAddress! + offset, rv.baseAddress! + offset, tokens: sliceLen)
                for t in 0..<sliceLen { rope.apply(allK + (local + t) * d, position: t) }
            }
        } } } }
        recentScores.withUnsafeMutableBufferPointer { scores in
            do {
                let problem = JointAttentionProblem(
                    shape: shape, rope: rope, count: c, queries: queries.baseAddress!, keys: allK, values: allV, memoryTokens: m,
                    fixedMemoryTokens: dense ? 0 : sinkCount + blockTokens, remainderBase: p0 - w + 1 - recentStart, localTokens: sliceLen,
                    localLowBase: dense ? nil : p0 - w + 1 - sliceStart, firstLocalQueryPosition: p0 - sliceStart, memoryQueryPosition: w - 1,
                    output: output.baseAddress!, localScores: scores.baseAddress! + (sliceStart - recentStart) * h)
                engine.attend(problem)
            }
        }
        return dense ? [] : advanceLifeCycle()
    }

    /// Moves tokens that left the window into the sink, then closes blocks (docs/ACTQKV.md §"Token life cycle").
    mutating func advanceLifeCycle() -> [ClosedBlock] {
        let w = config.localWindow, b = config.blockSize, kw = shape.kvWidth, h = shape.heads
        var remLen = position - recentStart
        if sinkCount < config.sinkTokens && remLen > w {
            let n = min(config.sinkTokens - sinkCount, remLen - w)
            sinkKeys.append(contentsOf: recentKeys[0..<(n * kw)])
            sinkValues.append(contentsOf: recentValues[0..<(n * kw)])
            dropOldest(n)
            sinkCount += n
            remLen -= n
        }
        var closed: [ClosedBlock] = []
        while remLen - b >= w {
            closed.append(closeOldestBlock())
            dropOldest(b)
            remLen -= b
        }
        _ = h
        return closed
    }

    private mutating func dropOldest(_ n: Int) {
        recentKeys.removeFirst(n * shape.kvWidth)
        recentValues.removeFirst(n * shape.kvWidth)
        recentScores.removeFirst(n * shape.heads)
        recentStart += n
    }

    /// Builds the block of the b oldest remainder tokens: its representative key and K/V.
    private mutating func closeOldestBlock() -> ClosedBlock {
        let b = config.blockSize, kw = shape.kvWidth, d = shape.headDim, h = shape.heads
        let r = config.representativeTokens
        var key = [Float](repeating: 0, count: shape.queryWidth)
        var column = [Float](repeating: 0, count: b)
        for head in 0..<h {
            let g = shape.kvHead(forQueryHead: head)
            for t in 0..<b { column[t] = recentScores[t * h + head] }
            let best = column.withUnsafeBufferPointer { TopK.indices(of: $0, k: r) }
            for t in best { for j in 0..<d { key[head * d + j] += recentKeys[t * kw + g * d + j] } }
            for j in 0..<d { key[head * d + j] /= Float(r) }
        }
        var k = [Float](repeating: 0, count: kw * b), v = [Float](repeating: 0, count: kw * b)
        for t in 0..<b {
            for g in 0..<shape.kvHeads {
                for j in 0..<d {
                    k[(g * b + t) * d + j] = recentKeys[t * kw + g * d + j]
                    v[(g * b + t) * d + j] = recentValues[t * kw + g * d + j]
                }
            }
        }
        let block = ClosedBlock(index: closedBlocks, firstPosition: recentStart, key: key, kv: BlockKV(tokens: b, keys: k, values: v))
        closedBlocks += 1
        return block
    }
}

extension LayerMemory {
    /// Array form of ``process(queries:keys:values:count:recalled:output:)``: returns the output
    /// (`count × H × d`) and the blocks closed after the chunk.
    public mutating func process(queries: [Float], keys: [Float], values: [Float], count: Int, recalled: [BlockKV],
                                 engine: any JointAttentionEngine = PortableJointAttention()) throws(AttentionError) -> (output: [Float], closed: [ClosedBlock]) {
        var out = [Float](repeating: 0, count: queries.count)
        var closed: [ClosedBlock] = []
        var failure: AttentionError?
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        do throws(AttentionError) { closed = try process(queries: q, keys: k, values: v, count: count, recalled: recalled, output: o, engine: engine) } catch { failure = error }
                    }
                }
            }
        }
        if let failure { throw failure }
        return (out, closed)
    }
}

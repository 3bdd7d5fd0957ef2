/// Worker-side state of one layer of one session: the token life cycle (ALGORITHM.md B §2.2) and
/// joint attention over sink ∪ recalled blocks ∪ out-of-window remainder ∪ local window (B §2.4–2.6,
/// with Part A §2's per-query masking: every past token is seen exactly once per query).
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

    /// The question vector u (B §3.4, Part A §3) for a question span already processed and still in
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
    /// - Returns: the blocks closed after this chunk (their local scores are final).
    public mutating func process(queries: UnsafeBufferPointer<Float>, keys: UnsafeBufferPointer<Float>,
                                 values: UnsafeBufferPointer<Float>, count c: Int, recalled: [BlockKV],
                                 output: UnsafeMutableBufferPointer<Float>) throws(AttentionError) -> [ClosedBlock] {
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
        // Local keys rotated by their position in the slice; values as is; both [kvHead][token][d].
        var localK = [Float](repeating: 0, count: shape.kvHeads * sliceLen * d)
        var localV = [Float](repeating: 0, count: shape.kvHeads * sliceLen * d)
        for t in 0..<sliceLen {
            let src = (sliceStart - recentStart + t) * kw
            for g in 0..<shape.kvHeads {
                let dst = (g * sliceLen + t) * d
                for j in 0..<d { localK[dst + j] = recentKeys[src + g * d + j]; localV[dst + j] = recentValues[src + g * d + j] }
                localK.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress! + dst, position: t) }
            }
        }
        // Memory tokens, raw: [sink | recalled blocks | out-of-window remainder], [kvHead][token][d].
        let remainderOut = dense ? 0 : max(0, position - w - recentStart)
        let blockTokens = recalled.reduce(0) { $0 + $1.tokens }
        let m = dense ? 0 : sinkCount + blockTokens + remainderOut
        var memK = [Float](repeating: 0, count: shape.kvHeads * m * d)
        var memV = [Float](repeating: 0, count: shape.kvHeads * m * d)
        if m > 0 {
            for g in 0..<shape.kvHeads {
                var row = g * m
                for t in 0..<sinkCount {
                    for j in 0..<d { memK[row * d + j] = sinkKeys[t * kw + g * d + j]; memV[row * d + j] = sinkValues[t * kw + g * d + j] }
                    row += 1
                }
                for b in recalled {
                    let base = g * b.tokens * d
                    for j in 0..<(b.tokens * d) { memK[row * d + j] = b.keys[base + j]; memV[row * d + j] = b.values[base + j] }
                    row += b.tokens
                }
                for t in 0..<remainderOut {
                    for j in 0..<d { memK[row * d + j] = recentKeys[t * kw + g * d + j]; memV[row * d + j] = recentValues[t * kw + g * d + j] }
                    row += 1
                }
            }
        }

        // Transpose to [kvHead][dim][token] so that logits and outputs are long, lane-parallel loops
        // over tokens (no horizontal reduction per key).
        func transposed(_ a: [Float], tokens n: Int) -> [Float] {
            var out = [Float](repeating: 0, count: a.count)
            out.withUnsafeMutableBufferPointer { o in a.withUnsafeBufferPointer { src in
                for g in 0..<shape.kvHeads { for t in 0..<n { for j in 0..<d { o[(g * d + j) * n + t] = src[(g * n + t) * d + j] } } }
            } }
            return out
        }
        let memKT = transposed(memK, tokens: m), memVT = transposed(memV, tokens: m)
        let localKT = transposed(localK, tokens: sliceLen), localVT = transposed(localV, tokens: sliceLen)
        let scale = 1 / Float(d).squareRoot()
        let group = shape.groupSize
        let n = m + sliceLen
        // Scratch per KV head: the G query heads' logits (G × n) and rotated queries (local, memory).
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, group * n))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * group * d)
        defer { logits.deallocate(); scratch.deallocate() }
        memKT.withUnsafeBufferPointer { mkb in memVT.withUnsafeBufferPointer { mvb in
        localKT.withUnsafeBufferPointer { lkb in localVT.withUnsafeBufferPointer { lvb in
        recentScores.withUnsafeMutableBufferPointer { scores in
            let mk = mkb.baseAddress ?? UnsafePointer(logits), mv = mvb.baseAddress ?? UnsafePointer(logits)
            let lk = lkb.baseAddress!, lv = lvb.baseAddress!
            for i in 0..<c {
                let p = p0 + i
                let memVisible = dense ? 0 : sinkCount + blockTokens + min(remainderOut, max(0, p - w + 1 - recentStart))
                let localLo = dense ? 0 : max(0, p - w + 1 - sliceStart)
                let nLocal = p - sliceStart + 1 - localLo
                let scoreBase = sliceStart - recentStart + localLo
                for g in 0..<shape.kvHeads {
                    // The G query heads reading KV head g share every K/V row: each row is loaded once
                    // and used G times while it is in L1.
                    for u in 0..<group {
                        let qRow = i * dq + (g * group + u) * d
                        let qLocal = scratch + 2 * u * d, qMem = qLocal + d
                        for j in 0..<d { qLocal[j] = queries[qRow + j] * scale; qMem[j] = queries[qRow + j] * scale }
                        rope.apply(qLocal, position: p - sliceStart)
                        rope.apply(qMem, position: w - 1)
                        let lg = logits + u * n
                        for t in 0..<(memVisible + nLocal) { lg[t] = 0 }
                    }
                    for j in 0..<d {
                        let memRow = mk + (g * d + j) * m, localRow = lk + (g * d + j) * sliceLen + localLo
                        for u in 0..<group {
                            let lg = logits + u * n
                            VectorKernels.axpy(scratch[2 * u * d + d + j], memRow, lg, count: memVisible)
                            VectorKernels.axpy(scratch[2 * u * d + j], localRow, lg + memVisible, count: nLocal)
                        }
                    }
                    for u in 0..<group {
                        Softmax.inPlace(UnsafeMutableBufferPointer(start: logits + u * n, count: memVisible + nLocal))
                    }
                    for j in 0..<d {
                        let memRow = mv + (g * d + j) * m, localRow = lv + (g * d + j) * sliceLen + localLo
                        for u in 0..<group {
                            let lg = logits + u * n
                            output[i * dq + (g * group + u) * d + j] = VectorKernels.dot(lg, memRow, count: memVisible)
                                + VectorKernels.dot(lg + memVisible, localRow, count: nLocal)
                        }
                    }
                    for u in 0..<group {
                        let head = g * group + u, local = logits + u * n + memVisible
                        for t in 0..<nLocal { scores[(scoreBase + t) * h + head] += local[t] }
                    }
                }
            }
        } } } } }
        return dense ? [] : advanceLifeCycle()
    }

    /// Moves tokens that left the window into the sink, then closes blocks (B §2.2).
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
    public mutating func process(queries: [Float], keys: [Float], values: [Float], count: Int,
                                 recalled: [BlockKV]) throws(AttentionError) -> (output: [Float], closed: [ClosedBlock]) {
        var out = [Float](repeating: 0, count: queries.count)
        var closed: [ClosedBlock] = []
        var failure: AttentionError?
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        do throws(AttentionError) { closed = try process(queries: q, keys: k, values: v, count: count, recalled: recalled, output: o) } catch { failure = error }
                    }
                }
            }
        }
        if let failure { throw failure }
        return (out, closed)
    }
}

import ActQKV
import CoreTypes
import KVClient
import LanguageModel
import Protocol

/// One sequence run through a ``DecoderModel`` whose attention goes through ActQKV's block memory
/// and the kvd daemon (docs/ACTQKV.md, docs/WORKER.md §"Per execution chunk"). Only the sink tokens, the local window
/// with its out-of-window remainder and a block cache of C blocks per layer stay in this process;
/// every closed block goes to kvd.
///
/// Per execution chunk of E tokens (1 in decoding), per layer ℓ: Q/K/V of the chunk; probe from
/// the chunk's rotated queries (activation-aware for actqkv); ONE `retrieve` request carrying the
/// ids the layer's block cache already holds, answered with the chosen blocks and only the missing
/// payloads; joint attention over sink ∪ recalled blocks ∪ remainder ∪ window; the blocks that
/// closed are sent in one pipelined `appendBlocks` after the chunk (not awaited before computing
/// on). With method `dense` the model's dense cache is used and no daemon is involved.
///
/// Hybrid models (Gemma 3): only the global layers go through ``LayerMemory`` and kvd (their
/// "memory layers", numbered 0, 1, … in kvd sessions); a sliding-window layer attends within its
/// window from a ``SlidingWindowCache`` in this process and never calls kvd.
///
/// Resident K/V of the worker (non-dense): per memory layer (S + W + E + b) tokens of Float32 K/V
/// in ``LayerMemory`` plus at most C fp16 blocks in the cache, per sliding-window layer at most
/// ≈ 2·window + E tokens, whatever the input length.
///
/// Not thread-safe: one task drives a session.
public final class LongContextSession {
    /// The forward pass.
    public let model: DecoderModel
    /// Method and parameters.
    public let settings: LongContextSettings
    /// Fingerprint of the model weights (part of every block id).
    public let fingerprint: UInt64
    /// The daemon connection (nil for `dense`).
    public let client: KVClient?
    /// The kvd session blocks are appended to (changes when the session is forked).
    public internal(set) var sessionName: String
    /// Counters for the summary.
    public internal(set) var counters = LongContextCounters()
    /// Every token fed so far, in order.
    public internal(set) var tokens: [Int32] = []
    /// Sequence number of the next execution chunk (the daemon's pool key).
    public internal(set) var chunkSequence: UInt64 = 0
    /// The marked question span (absolute token positions), if any.
    public internal(set) var questionSpan: Range<Int>?
    /// Session refreshed after every checkpoint with a fork of this one (named runs; nil: none).
    public var safePoint: String?
    /// What the last execution chunk attended (nil for dense or before the first chunk).
    public internal(set) var lastAttended: AttendedTokens?
    /// Called after every `retrieve` with what kvd chose (diagnostics: `actqkv run --trace`).
    public var onRetrieve: ((RetrieveTrace) -> Void)?

    let shape: AttentionShape
    let rope: ActQKV.RotaryEmbedding
    /// The model layers whose K/V go to kvd, in order (memory layer k is model layer memoryLayers[k]).
    let memoryLayers: [Int]
    /// Per model layer: its memory-layer index, nil for a sliding-window layer.
    let memoryIndex: [Int?]
    /// Per model layer: its window (non-dense sliding-window layers), else nil.
    var windows: [SlidingWindowCache?]
    var memories: [LayerMemory]
    var caches: [BlockCache<KVBlock16>]
    var cachedIDs: [[UInt64: BlockID]]
    /// The worker's half of the retrieval state (activation statistics); kvd holds the other.
    var probeState: ProbeState
    var questionVectors: [[Float]?]
    var spanRotated: [[Float]]
    var hasher: PrefixHasher
    let dense: DenseAttentionCache?
    let appends: AppendPipeline?

    /// Tokens processed so far.
    public var position: Int { tokens.count }

    /// The descriptor kvd sessions of this model and settings use: one layer per global layer
    /// of the model, and the fingerprint of ``blockFingerprint(model:fingerprint:)``.
    public static func descriptor(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64) -> ModelDescriptor {
        let c = model.config
        return ModelDescriptor(layers: c.globalLayers.count, queryHeads: c.headCount, kvHeads: c.kvHeadCount,
                               headDim: c.headDimension, elementType: .fp16, blockSize: settings.retrieval.blockSize,
                               fingerprint: blockFingerprint(model: model, fingerprint: fingerprint))
    }

    /// The fingerprint that names this model's blocks: the file's (`fingerprint`, see
    /// ``ModelFingerprint``) when every layer is a memory layer (Llama: unchanged from earlier
    /// releases), else extended (FNV-1a) with the layer count and the memory layers' indices, so
    /// that a block's layer number always means the same model layer.
    public static func blockFingerprint(model: DecoderModel, fingerprint: UInt64) -> UInt64 {
        let c = model.config, memory = c.globalLayers
        guard memory.count != c.layerCount else { return fingerprint }
        var h = fingerprint
        for v in [c.layerCount] + memory {
            for byte in 0..<8 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: v >> (8 * byte)))) &* 0x100_0000_01b3 }
        }
        return h
    }

    /// A session with no token yet.
    /// - Parameters:
    ///   - client: the daemon connection; required unless the method is `dense`.
    ///   - sessionName: an existing kvd session of ``descriptor(model:settings:fingerprint:)`` (created by the caller).
    ///   - denseCapacity: tokens the dense cache is sized for (method `dense` only).
    public init(model: DecoderModel, settings: LongContextSettings, fingerprint: UInt64, client: KVClient?, sessionName: String,
                denseCapacity: Int = 0) throws(LongContextError) {
        self.model = model; self.settings = settings; self.client = client
        self.fingerprint = Self.blockFingerprint(model: model, fingerprint: fingerprint)
        self.sessionName = sessionName
        let c = model.config
        memoryLayers = c.globalLayers
        var index = [Int?](repeating: nil, count: c.layerCount)
        for (k, l) in memoryLayers.enumerated() { index[l] = k }
        memoryIndex = index
        guard c.ropeDimension == c.headDimension else {
            throw .configuration("partial rotary embedding (\(c.ropeDimension) of \(c.headDimension) dimensions) is not supported by the block memory")
        }
        do { shape = try AttentionShape(heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDimension) } catch { throw .attention(error) }
        let memoryCount = memoryLayers.count
        do { probeState = try ProbeState(config: settings.retrieval, layers: memoryCount) } catch { throw .configuration("\(error) (code \(error.code))") }
        let r = settings.retrieval
        // The memory layers are the global ones, which all rotate with the global base.
        rope = ActQKV.RotaryEmbedding(headDim: c.headDimension, base: Double(c.ropeFrequencyBase),
                                      convention: c.rotaryPairing == .halves ? .neox : .interleaved,
                                      tablePositions: r.localWindow + r.chunkTokens + 1)
        let method = settings.method
        memories = (0..<memoryCount).map { [shape, rope] _ in LayerMemory(shape: shape, config: r, method: method, rope: rope) }
        caches = Array(repeating: BlockCache(capacity: r.blockCacheCapacity), count: memoryCount)
        cachedIDs = Array(repeating: [:], count: memoryCount)
        questionVectors = Array(repeating: nil, count: memoryCount)
        spanRotated = Array(repeating: [], count: memoryCount)
        windows = (0..<c.layerCount).map { [model] l in
            guard method != .dense, let w = c.layerAttention[l].window else { return nil }
            return SlidingWindowCache(config: c, window: w, rope: model.ropes[l])
        }
        hasher = PrefixHasher()
        settings.absorb(into: &hasher)
        hasher.absorb64(fingerprint)
        if method == .dense {
            dense = model.makeDenseCache(capacity: max(denseCapacity, 1))
            appends = nil
        } else {
            guard let client else { throw .configuration("method \(method) needs a kvd connection") }
            dense = nil
            appends = AppendPipeline(client: client)
        }
    }

    /// Marks the question span (absolute positions, not yet processed): its question vector is
    /// built once the span has been processed and enters scoring in prefill mode.
    public func markQuestion(_ span: Range<Int>) throws(LongContextError) {
        guard !span.isEmpty, span.lowerBound >= position else {
            throw .configuration("question span \(span) must be non-empty and not yet processed (position \(position))")
        }
        questionSpan = span
    }

    /// Runs `input` through the model in execution chunks of E tokens (cut so that chunk starts
    /// stay multiples of E) in `mode`, and returns the last token's logits when `logits` is true
    /// (else an empty array).
    @discardableResult
    public func process(_ input: ArraySlice<Int32>, mode: RetrievalMode, logits: Bool) async throws(LongContextError) -> [Float] {
        var start = input.startIndex
        var result: [Float] = []
        let e = settings.retrieval.chunkTokens
        while start < input.endIndex {
            let room = e - position % e
            let end = min(input.endIndex, start + room)
            result = try await processChunk(input[start..<end], mode: mode, logits: logits && end == input.endIndex)
            start = end
        }
        return result
    }

    /// One execution chunk through every layer.
    func processChunk(_ chunk: ArraySlice<Int32>, mode: RetrievalMode, logits wantLogits: Bool) async throws(LongContextError) -> [Float] {
        let n = chunk.count
        let p0 = position
        try appends?.check()
        var hidden: [Float]
        do { hidden = try model.embed(chunk) } catch { throw .model(error) }
        for t in chunk { hasher.absorb(UInt32(bitPattern: t)) }
        tokens.append(contentsOf: chunk)
        hasher.absorb(0xC0DE_0000 | UInt32(truncatingIfNeeded: n))  // chunk boundary
        if let span = questionSpan, span.upperBound > p0, span.upperBound <= p0 + n { hasher.absorb(0x5E57_0000) }
        let chunkHash = hasher
        var records: [BlockRecord] = []
        let layerCount = model.config.layerCount
        if dense == nil, let m = memories.first {
            lastAttended = AttendedTokens(sinkCount: m.sinkCount, blockSize: settings.retrieval.blockSize, closedBlocks: m.closedBlocks,
                                          recentStart: m.recentStart, recalled: Array(repeating: [], count: layerCount))
        }
        for layer in 0..<layerCount {
            let inputs = model.attentionInputs(layer: layer, hidden: hidden, tokenCount: n)
            var attended = [Float](repeating: 0, count: n * model.config.queryWidth)
            if let dense {
                do {
                    try inputs.queries.withUnsafeBufferPointer { (q) throws(ModelError) in
                        try inputs.keys.withUnsafeBufferPointer { (k) throws(ModelError) in
                            try inputs.values.withUnsafeBufferPointer { (v) throws(ModelError) in
                                try attended.withUnsafeMutableBufferPointer { (o) throws(ModelError) in
                                    try dense.attend(layer: layer, queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                                                     tokenCount: n, output: o.baseAddress!)
                                }
                            }
                        }
                    }
                } catch { throw .model(error) }
            } else if let window = windows[layer] {
                inputs.queries.withUnsafeBufferPointer { q in
                    inputs.keys.withUnsafeBufferPointer { k in
                        inputs.values.withUnsafeBufferPointer { v in
                            attended.withUnsafeMutableBufferPointer { o in
                                window.attend(queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!, tokenCount: n, output: o.baseAddress!)
                            }
                        }
                    }
                }
            } else {
                let m = memoryIndex[layer]!
                let rotated: [Float]
                do { rotated = try inputs.queries.withUnsafeBufferPointer { (q) throws(AttentionError) in try memories[m].probeQueries(q, count: n) } }
                catch { throw .attention(error) }
                let recalled = try await recall(layer: m, rotated: rotated, count: n, mode: mode)
                let closed: [ClosedBlock]
                do {
                    (attended, closed) = try memories[m].process(queries: inputs.queries, keys: inputs.keys, values: inputs.values,
                                                                  count: n, recalled: recalled, engine: BLASJointAttention())
                } catch { throw .attention(error) }
                for block in closed { records.append(record(block, layer: m, chunkHash: chunkHash)) }
                try updateQuestion(layer: m, rotated: rotated, chunkStart: p0, count: n)
            }
            model.completeLayer(layer: layer, attentionOutput: attended, hidden: &hidden, tokenCount: n)
        }
        dense?.advance(by: n)
        chunkSequence += 1
        counters.computedTokens += n
        if !records.isEmpty, let appends {
            counters.blocksStored += records.count
            await appends.enqueue(session: sessionName, records: records)
        }
        return wantLogits ? model.logits(hidden: hidden, rows: (n - 1)..<n) : []
    }

    /// Asks kvd for the blocks of memory layer `layer` this chunk attends and returns their K/V
    /// (fp16-rounded), best first. Only payloads missing from the layer's cache cross the socket.
    func recall(layer: Int, rotated: [Float], count n: Int, mode: RetrievalMode) async throws(LongContextError) -> [BlockKV] {
        guard let client else { return [] }
        let method = settings.method
        let probe: ProbeState.Probe
        do { probe = try rotated.withUnsafeBufferPointer { (q) throws(SelectionError) in try probeState.probe(layer: layer, method: method, queries: q, count: n) } }
        catch { throw .configuration("probe: \(error) (code \(error.code))") }
        var question: QuestionTerm?
        if mode == .prefill, let u = questionVectors[layer] { question = QuestionTerm(vector: u, weight: settings.retrieval.questionWeight) }
        let held = caches[layer].cachedIDs.compactMap { caches[layer].contains($0) ? cachedIDs[layer][$0] : nil }
        let request = RetrieveRequest(session: sessionName, layer: UInt16(layer), method: method,
                                      mode: mode, chunkSequence: chunkSequence,
                                      probe: probe.vector, question: question, heldIDs: held, wantPayloads: true)
        counters.retrieveRequests += 1
        let result: RetrieveResult
        do { result = try await client.retrieve(request) } catch { throw .daemon(operation: "retrieve (layer \(layer))", error) }
        let positions = result.chosen.map { UInt64($0.position) }
        lastAttended?.recalled[memoryLayers[layer]] = positions.map { Int($0) }
        onRetrieve?(RetrieveTrace(chunk: chunkSequence, start: position - n, count: n, layer: memoryLayers[layer], mode: mode,
                                  questionTerm: question != nil, k: Int(result.k), totalBlocks: Int(result.totalBlocks),
                                  chosen: positions.map { Int($0) }))
        // kvd may grant more than K_max blocks (`--budget-growth`): hold at least two chunks' worth.
        if positions.count > caches[layer].capacity { caches[layer].reserve(2 * positions.count) }
        let plan: BlockCache<KVBlock16>.Plan
        do { plan = try caches[layer].admit(positions) } catch {
            throw .inconsistentReply("\(positions.count) blocks chosen for a cache of \(caches[layer].capacity) (code \(error.code))")
        }
        for id in plan.evicted { cachedIDs[layer][id] = nil }
        for c in result.chosen { cachedIDs[layer][UInt64(c.position)] = c.id }
        let b = settings.retrieval.blockSize
        for p in result.payloads {
            let unexpected = LongContextError.inconsistentReply("payload #\(p.index) of \(p.payload.count) bytes (expected \(2 * shape.kvWidth * b * 2))")
            guard Int(p.index) < positions.count else { throw unexpected }
            let block: KVBlock16
            do { block = try p.payload.withUnsafeBytes { try KVBlock16(bytes: $0, as: .fp16, shape: shape, tokens: b) } } catch { throw unexpected }
            do { try caches[layer].store(positions[Int(p.index)], payload: block) } catch {
                throw .inconsistentReply("payload for a block not chosen (code \(error.code))")
            }
            counters.blocksFetched += 1
            counters.bytesFetched += p.payload.count
        }
        counters.cacheHits += positions.count - result.payloads.count
        var recalled: [BlockKV] = []
        recalled.reserveCapacity(positions.count)
        for p in positions {
            guard let block = caches[layer].payload(p) else {
                throw .inconsistentReply("kvd sent no payload for chosen block \(p) of layer \(layer) that the worker does not hold")
            }
            recalled.append(block.float())
        }
        return recalled
    }

    /// The wire record of a closed block: fp16 K then V, its representative key, and a prefix
    /// hash covering everything its contents depend on plus its index.
    func record(_ block: ClosedBlock, layer: Int, chunkHash: PrefixHasher) -> BlockRecord {
        var h = chunkHash
        h.absorb64(UInt64(block.index))
        let payload = KVBlock16(block.kv, as: .fp16).bytes
        return BlockRecord(layer: UInt16(layer), position: UInt32(block.index), prefixHash: PrefixHash(high: h.high, low: h.low),
                           representativeKey: block.key, payload: payload[...])
    }

    /// Keeps the span's rotated queries and builds the question vector once the span is processed.
    func updateQuestion(layer: Int, rotated: [Float], chunkStart p0: Int, count n: Int) throws(LongContextError) {
        guard let span = questionSpan, questionVectors[layer] == nil else { return }
        let lo = max(span.lowerBound, p0), hi = min(span.upperBound, p0 + n)
        let dq = shape.queryWidth
        if lo < hi { spanRotated[layer].append(contentsOf: rotated[((lo - p0) * dq)..<((hi - p0) * dq)]) }
        guard span.upperBound <= p0 + n else { return }
        do {
            questionVectors[layer] = try spanRotated[layer].withUnsafeBufferPointer { (r) throws(AttentionError) in
                try memories[layer].questionVector(span: span, rotatedQueries: r)
            }
        } catch { throw .attention(error) }
        spanRotated[layer] = []
    }

    /// Waits until kvd acknowledged every block sent so far.
    public func drain() async throws(LongContextError) {
        try await appends?.drain()
        if let appends { counters.blocksAcknowledged = appends.acknowledged }
    }

    /// Blocks closed per memory layer so far (identical in every memory layer).
    public var closedBlocks: Int { memories.first?.closedBlocks ?? 0 }

    /// The block caches of every memory layer, by value (payloads shared until either side
    /// changes them).
    struct BlockCaches: Sendable {
        var caches: [BlockCache<KVBlock16>]
        var ids: [[UInt64: BlockID]]
    }

    /// A snapshot of the block caches, for a session resumed from a prefix of this one
    /// (``adoptBlockCaches(_:)``).
    var blockCaches: BlockCaches { BlockCaches(caches: caches, ids: cachedIDs) }

    /// Starts the block caches with the blocks of `warm` (a snapshot of a session this one shares
    /// a prefix with) that lie among this session's closed blocks, so that its first retrieves
    /// fetch fewer payloads. Changes no result: the held blocks are named to kvd by id, and a
    /// block kvd holds under another id at that position is sent and replaces the cached one.
    func adoptBlockCaches(_ warm: BlockCaches) {
        let closed = UInt64(closedBlocks)
        for l in caches.indices where l < warm.caches.count && l < warm.ids.count {
            caches[l] = warm.caches[l].filter { $0 < closed }
            cachedIDs[l] = warm.ids[l].filter { $0.key < closed }
        }
    }

    /// Bytes of K/V this worker holds: LayerMemory state plus cached payloads (dense: the dense cache).
    public var residentKVBytes: Int {
        if let dense { return dense.storageBytes }
        var total = 0
        for m in memories { total += (m.sinkRange.count + m.recentRange.count) * shape.kvWidth * 2 * 4 }
        for c in caches { total += c.count * shape.kvWidth * settings.retrieval.blockSize * 2 * 2 }
        for w in windows { total += w?.storageBytes ?? 0 }
        return total
    }
}

/// One `retrieve` of a ``LongContextSession``, as reported to ``LongContextSession/onRetrieve``.
public struct RetrieveTrace: Sendable, Hashable {
    /// The execution chunk's sequence number, first position and length.
    public var chunk: UInt64, start: Int, count: Int
    /// The model layer.
    public var layer: Int
    /// Prefill or decode.
    public var mode: RetrievalMode
    /// Whether the request carried the question vector.
    public var questionTerm: Bool
    /// Blocks granted (k_ℓ) and blocks in the layer (N).
    public var k: Int, totalBlocks: Int
    /// Chosen block indices, best score first (block i covers S + i·b ..< S + (i+1)·b).
    public var chosen: [Int]
}

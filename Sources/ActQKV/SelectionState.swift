import CoreTypes

/// kvd's retrieval state of one session, shared by its layers: the per-layer density histories
/// and the block pools of the chunks in flight (docs/ACTQKV.md). Only the daemon holds it, and it
/// persists it in the session's checkpoint slot (``encoded()`` / ``init(decoding:)``); the
/// worker's half is ``ProbeState``. A resumed session continues identically. Nothing here
/// depends on any other session.
public struct SelectionState: Sendable, Hashable {
    /// The validated configuration.
    public let config: RetrievalConfig
    /// L: number of layers of the model.
    public let layers: Int
    /// g: budget growth, kvd's policy (`--budget-growth`; 0: the fixed budget of ``config``): a
    /// layer of N closed blocks is selected with ``RetrievalConfig/grown(blocks:growth:)``. Not
    /// part of the encoding: kvd sets it again when it restores a state.
    public var budgetGrowth = 0
    /// Density history of each layer (`layers` entries).
    public internal(set) var histories: [DensityHistory]
    /// Blocks left in the pool of each chunk in flight (chunk id → remaining blocks; may go
    /// negative when clamping bites). A chunk's pool is (re)initialised to K·L when layer 0 selects
    /// for it and dropped after layer L−1 has.
    public internal(set) var pools: [UInt64: Int]

    /// Chunks whose pool may be in flight at once; beyond it the lowest chunk id is dropped.
    public static let maxPoolsInFlight = 4096

    /// A fresh state.
    /// - Throws: the configuration's ``ConfigError``, or `.notPositive(.layers, …)` if `layers < 1`.
    public init(config: RetrievalConfig, layers: Int) throws(ConfigError) {
        try config.validate()
        guard layers >= 1 else { throw .notPositive(.layers, value: layers) }
        guard layers <= ModelDescriptor.maxLayers else { throw .tooLarge(.layers, value: layers, limit: ModelDescriptor.maxLayers) }
        self.config = config
        self.layers = layers
        histories = Array(repeating: DensityHistory(capacity: config.historyLength), count: layers)
        pools = [:]
    }

    init(config: RetrievalConfig, layers: Int, histories: [DensityHistory], pools: [UInt64: Int]) {
        self.config = config; self.layers = layers; self.histories = histories; self.pools = pools
    }

    /// Scores the `count` blocks of `layer` (representative keys, row-major `count × D`, D =
    /// `probe.count`), records the density, takes k_ℓ from the pool of `chunk` and returns the
    /// top-k_ℓ blocks. `question` (D floats) enters only the cosine scores — the ranking where
    /// ``RetrievalMethod/ranksByCosine``, the density measure of every method but `dense` and
    /// `infllm` — and only in `prefill` mode, with weight `questionWeight` (λ; `nil` =
    /// `config.questionWeight`).
    public mutating func select(layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod,
                                probe: UnsafeBufferPointer<Float>, question: UnsafeBufferPointer<Float>?, questionWeight: Float? = nil,
                                keys: UnsafeBufferPointer<Float>, count: Int) throws(SelectionError) -> LayerSelection {
        try check(layer: layer, probe: probe, question: question, keysCount: keys.count, count: count)
        let lambda = try weight(questionWeight)
        let q = mode == .prefill ? question?.baseAddress : nil
        return select(layer: layer, chunk: chunk, mode: mode, method: method, count: count,
                      cosines: { BlockScoring.cosines(probe: probe.baseAddress!, question: q, questionWeight: lambda,
                                                      keys: keys.baseAddress!, count: count, width: probe.count, into: $0) },
                      innerProducts: { BlockScoring.innerProducts(probe: probe.baseAddress!, keys: keys.baseAddress!,
                                                                  count: count, width: probe.count, into: $0) })
    }

    private func weight(_ w: Float?) throws(SelectionError) -> Float {
        guard let w else { return config.questionWeight }
        guard w.isFinite, w >= 0 else { throw .invalidQuestionWeight(w) }
        return w
    }

    private func check(layer: Int, probe: UnsafeBufferPointer<Float>, question: UnsafeBufferPointer<Float>?, keysCount: Int, count: Int) throws(SelectionError) {
        guard (0..<layers).contains(layer) else { throw .layerOutOfRange(layer: layer, layers: layers) }
        guard count >= 0 else { throw .negativeCount(count) }
        guard !probe.isEmpty else { throw .emptyProbe }
        let (need, overflow) = count.multipliedReportingOverflow(by: probe.count)
        guard !overflow, keysCount == need else { throw .keysSizeMismatch(expected: overflow ? Int.max : need, actual: keysCount) }
        if let q = question, q.count != probe.count { throw .questionSizeMismatch(expected: probe.count, actual: q.count) }
    }

    /// The selection of one layer; `cosines` and `innerProducts` each write the `n` blocks'
    /// scores of their kind.
    private mutating func select(layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod, count n: Int,
                                 cosines: (UnsafeMutablePointer<Float>) -> Void,
                                 innerProducts: (UnsafeMutablePointer<Float>) -> Void) -> LayerSelection {
        let config = self.config.grown(blocks: n, growth: budgetGrowth)
        func scores(_ fill: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var s = [Float](repeating: 0, count: n)
            s.withUnsafeMutableBufferPointer { fill($0.baseAddress!) }
            return s
        }
        switch method {
        case .dense:
            return LayerSelection(chosen: Array(0..<n), entropy: 0, density: 0)
        case .infllm:
            guard n > 0 else { return LayerSelection(chosen: [], entropy: 0, density: 0) }
            let s = scores(innerProducts)
            let chosen = s.withUnsafeBufferPointer { TopK.indices(of: $0, k: min(n, config.topK)) }
            return LayerSelection(chosen: chosen, entropy: 0, density: 0)
        case .actqkv, .actqkvReference, .activateOnly, .dynamicOnly:
            let dynamic = method.usesDensityAllocation
            if dynamic && layer == 0 {
                pools[chunk] = config.poolBlocks(layers: layers)
                // A caller that never reaches the last layer must not grow the state without bound.
                if pools.count > Self.maxPoolsInFlight, let oldest = pools.keys.min() { pools[oldest] = nil }
            }
            let pool = pools[chunk] ?? config.topK * (layers - layer)
            defer { if dynamic && layer == layers - 1 { pools[chunk] = nil } }
            if n == 0 {
                // The reference records ρ = 0 for a layer without blocks and takes none.
                if dynamic { histories[layer].record(0) }
                return LayerSelection(chosen: [], entropy: 0, density: 0)
            }
            if n == 1 {
                // ρ is undefined for one block: take it, record nothing, consume it from the pool.
                if dynamic { pools[chunk] = pool - 1 }
                return LayerSelection(chosen: [0], entropy: 0, density: 0)
            }
            // The density is always measured on the cosine scores; only the ranking differs.
            let measured = scores(cosines)
            let entropy = measured.withUnsafeBufferPointer { Softmax.entropy(ofScores: $0) }
            let rho = Softmax.density(entropy: entropy, count: n)
            let k: Int
            if dynamic {
                histories[layer].record(rho)
                let w = BudgetAllocator.share(layer: layer, layers: layers, mode: mode, histories: histories)
                k = BudgetAllocator.blocks(share: w, pool: pool, available: n, config: config)
                pools[chunk] = pool - k
            } else {
                k = min(n, config.maxBlocks)
            }
            let ranked = method.ranksByCosine ? measured : scores(innerProducts)
            let chosen = ranked.withUnsafeBufferPointer { TopK.indices(of: $0, k: k) }
            return LayerSelection(chosen: chosen, entropy: entropy, density: rho)
        }
    }
}

/// Stable, versioned binary encoding of ``SelectionState`` (little-endian, framed as every ActQKV
/// encoding, ``StateFormat``):
///
/// ```
/// "AQSS" | version u16 (=1) | flags u16 (=0)
/// config (as in ProbeState's encoding: 11 × i64, 2 × f32, i64, u8, u8)
/// layers u32
/// histories (L of them), each: count u32 | ρ[count] f32 (oldest first)
/// pools count u32, each: chunk u64 | remaining i64   (ascending chunk)
/// crc32 u32 of every preceding byte
/// ```
/// Encoding a decoded state reproduces the bytes exactly. The decoder also reads the previous
/// release's combined "AQRS" version 1 (``LegacyRetrievalState``) and keeps its histories and pools.
extension SelectionState {
    /// The format version this build writes.
    public static var encodingVersion: UInt16 { StateFormat.selectionState.version }

    /// The encoding described above.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(format: .selectionState)
        w.config(config)
        w.u32(UInt32(layers))
        w.histories(histories)
        w.pools(pools)
        return w.sealed()
    }

    /// Decodes and validates an encoding, or migrates an "AQRS" version 1 one.
    /// - Throws: ``StateDecodingError`` for truncated, corrupted, inconsistent or unknown bytes.
    public init(decoding bytes: [UInt8]) throws(StateDecodingError) {
        var (format, r) = try StateFormat.open(bytes, accepting: [.selectionState, .legacyRetrievalState])
        if format == .legacyRetrievalState {
            let legacy = try LegacyRetrievalState(body: &r)
            self.init(config: legacy.config, layers: legacy.layers, histories: legacy.histories, pools: legacy.pools)
            return
        }
        let config = try r.config()
        let layers = try r.layers()
        let histories = try r.histories(config: config, layers: layers)
        let pools = try r.pools()
        try r.end()
        self.init(config: config, layers: layers, histories: histories, pools: pools)
    }
}

import CoreTypes

/// Retrieval state of one session, shared by its layers (ALGORITHM.md Part A §2): activation
/// statistics (one set, or one per layer), per-layer density histories, and the block pools of the
/// chunks in flight. The daemon keeps and persists it (``encoded()`` / ``init(decoding:)``); a
/// resumed session continues identically. Nothing here depends on any other session.
///
/// Daemon side: ``select(layer:chunk:mode:method:probe:question:questionWeight:keys:count:)``.
/// Worker side: ``probe(layer:method:queries:count:)``.
public struct RetrievalState: Sendable, Hashable {
    /// The validated configuration.
    public let config: RetrievalConfig
    /// L: number of layers of the model.
    public let layers: Int
    /// Activation statistics: one entry (scope `shared`) or `layers` entries (`perLayer`).
    public internal(set) var statistics: [ActivationStatistics]
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
        statistics = Array(repeating: ActivationStatistics(), count: config.statisticsScope == .shared ? 1 : layers)
        histories = Array(repeating: DensityHistory(capacity: config.historyLength), count: layers)
        pools = [:]
    }

    init(config: RetrievalConfig, layers: Int, statistics: [ActivationStatistics], histories: [DensityHistory], pools: [UInt64: Int]) {
        self.config = config; self.layers = layers; self.statistics = statistics; self.histories = histories; self.pools = pools
    }

    /// The probe-query of one chunk and the token weights that built it.
    public struct Probe: Sendable, Hashable {
        /// p = Σ_t w_t·Q̃_t, D floats.
        public var vector: [Float]
        /// w_t, one per query token of the chunk; Σ w = 1.
        public var weights: [Float]
    }

    /// Worker side: builds the probe-query of `layer` for one chunk of `count` rotated queries
    /// (each row = the token's queries of all H heads rotated at position W−1, concatenated head-major;
    /// row-major `count × D`, D = `queries.count / count`). Methods with activation bias
    /// (`actqkv`, `activateOnly`) fold the chunk into the statistics and weight tokens by their bias;
    /// the others use the mean (uniform weights) and leave the statistics untouched.
    public mutating func probe(layer: Int, method: RetrievalMethod, queries: UnsafeBufferPointer<Float>, count: Int) throws(SelectionError) -> Probe {
        guard (0..<layers).contains(layer) else { throw .layerOutOfRange(layer: layer, layers: layers) }
        guard count >= 1, queries.count >= count, queries.count % count == 0 else {
            throw count >= 1 ? .queriesSizeMismatch(expected: count, actual: queries.count) : .emptyProbe
        }
        let d = queries.count / count
        let weights: [Float]
        if method.usesActivationBias {
            let s = config.statisticsScope == .shared ? 0 : layer
            weights = try statistics[s].update(queries: queries, count: count, width: d, config: config)
        } else {
            weights = [Float](repeating: 1 / Float(count), count: count)
        }
        var p = [Float](repeating: 0, count: d)
        p.withUnsafeMutableBufferPointer { pb in
            for t in 0..<count { VectorKernels.axpy(weights[t], queries.baseAddress! + t * d, pb.baseAddress!, count: d) }
        }
        return Probe(vector: p, weights: weights)
    }

    /// Daemon side: scores the `count` blocks of `layer` (representative keys, row-major
    /// `count × D`, D = `probe.count`), records the density, takes k_ℓ from the pool of `chunk`
    /// and returns the top-k_ℓ blocks. `question` (D floats) enters only in `prefill` mode and only
    /// for cosine-scoring methods, with weight `questionWeight` (λ; `nil` = `config.questionWeight`).
    public mutating func select(layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod,
                                probe: UnsafeBufferPointer<Float>, question: UnsafeBufferPointer<Float>?, questionWeight: Float? = nil,
                                keys: UnsafeBufferPointer<Float>, count: Int) throws(SelectionError) -> LayerSelection {
        try check(layer: layer, probe: probe, question: question, keysCount: keys.count, count: count)
        let lambda = try weight(questionWeight)
        return select(layer: layer, chunk: chunk, mode: mode, method: method, count: count, width: probe.count) { scores in
            let q = (mode == .prefill && method.usesCosineScoring) ? question?.baseAddress : nil
            if method.usesCosineScoring {
                BlockScoring.cosines(probe: probe.baseAddress!, question: q, questionWeight: lambda,
                                     keys: keys.baseAddress!, count: count, width: probe.count, into: scores)
            } else {
                BlockScoring.innerProducts(probe: probe.baseAddress!, keys: keys.baseAddress!, count: count, width: probe.count, into: scores)
            }
        }
    }

    /// As ``select(layer:chunk:mode:method:probe:question:questionWeight:keys:count:)`` with fp16
    /// representative keys.
    public mutating func select(layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod,
                                probe: UnsafeBufferPointer<Float>, question: UnsafeBufferPointer<Float>?, questionWeight: Float? = nil,
                                fp16Keys keys: UnsafeBufferPointer<UInt16>, count: Int) throws(SelectionError) -> LayerSelection {
        try check(layer: layer, probe: probe, question: question, keysCount: keys.count, count: count)
        let lambda = try weight(questionWeight)
        return select(layer: layer, chunk: chunk, mode: mode, method: method, count: count, width: probe.count) { scores in
            let q = (mode == .prefill && method.usesCosineScoring) ? question?.baseAddress : nil
            if method.usesCosineScoring {
                BlockScoring.cosines(probe: probe.baseAddress!, question: q, questionWeight: lambda,
                                     fp16Keys: keys.baseAddress!, count: count, width: probe.count, into: scores)
            } else {
                BlockScoring.innerProducts(probe: probe.baseAddress!, fp16Keys: keys.baseAddress!, count: count, width: probe.count, into: scores)
            }
        }
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

    private mutating func select(layer: Int, chunk: UInt64, mode: RetrievalMode, method: RetrievalMethod, count n: Int, width: Int,
                                 score: (UnsafeMutablePointer<Float>) -> Void) -> LayerSelection {
        switch method {
        case .dense:
            return LayerSelection(chosen: Array(0..<n), entropy: 0, density: 0)
        case .infllm:
            guard n > 0 else { return LayerSelection(chosen: [], entropy: 0, density: 0) }
            var scores = [Float](repeating: 0, count: n)
            scores.withUnsafeMutableBufferPointer { score($0.baseAddress!) }
            let chosen = scores.withUnsafeBufferPointer { TopK.indices(of: $0, k: min(n, config.topK)) }
            return LayerSelection(chosen: chosen, entropy: 0, density: 0)
        case .actqkv, .activateOnly, .dynamicOnly:
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
            var scores = [Float](repeating: 0, count: n)
            scores.withUnsafeMutableBufferPointer { score($0.baseAddress!) }
            let entropy = scores.withUnsafeBufferPointer { Softmax.entropy(ofScores: $0) }
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
            let chosen = scores.withUnsafeBufferPointer { TopK.indices(of: $0, k: k) }
            return LayerSelection(chosen: chosen, entropy: entropy, density: rho)
        }
    }
}

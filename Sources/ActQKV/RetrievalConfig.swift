/// Parameters of the block-retrieval algorithm (docs/ACTQKV.md §"Parameters"). Token-level and model
/// independent; every default is the documented one. Call ``validate()`` (the initialisers of
/// ``ProbeState`` and ``SelectionState`` do) before use.
public struct RetrievalConfig: Sendable, Hashable {
    /// S: initial ("sink") tokens kept forever, in tokens. Default 64.
    public var sinkTokens: Int
    /// W: local window, in tokens; each query sees its W most recent tokens, itself included. Default 512.
    public var localWindow: Int
    /// E: execution chunk, in tokens; retrieval runs once per chunk. Default 256.
    public var chunkTokens: Int
    /// b: tokens per memory block. Default 32.
    public var blockSize: Int
    /// K: nominal blocks per layer per chunk. The per-chunk pool is `K·L` blocks. Default 46.
    public var topK: Int
    /// r: representative tokens per query head of a closed block. Default 4.
    public var representativeTokens: Int
    /// K_min: lower clamp of the density allocator, in blocks (applied as `min(N, K_min)`). Default 32.
    public var minBlocks: Int
    /// K_max: upper clamp of the density allocator, in blocks (applied as `min(N, K_max)`); also the
    /// fixed count of `activateOnly`. Default `2·K` = 92.
    public var maxBlocks: Int
    /// Entries of normalised density ρ kept per layer. Default 100.
    public var historyLength: Int
    /// Activation-statistics warm-up, in calls or tokens (see ``warmupUnit``). Default 1000.
    public var statisticsWarmup: Int
    /// Activation-statistics horizon N_up, in calls: the running update weights the past as at most
    /// this many calls. Default 1000.
    public var statisticsHorizon: Int
    /// Variance floor as a fraction of mean(σ²). Default 0.01 (= mean(σ²)/100).
    public var varianceFloorFraction: Float
    /// λ: weight of the question term in prefill scoring. Default 4.
    public var questionWeight: Float
    /// C: blocks held by the worker's per-layer block cache. Must be ≥ K_max. Default 128.
    public var blockCacheCapacity: Int
    /// Scope of the activation statistics. Default `.shared` (the reference).
    public var statisticsScope: StatisticsScope
    /// Unit of the statistics warm-up. Default `.calls` (the reference).
    public var warmupUnit: WarmupUnit

    /// Creates a configuration; every argument defaults to the documented value, and `maxBlocks`
    /// defaults to `2·topK`.
    public init(
        sinkTokens: Int = 64, localWindow: Int = 512, chunkTokens: Int = 256, blockSize: Int = 32,
        topK: Int = 46, representativeTokens: Int = 4, minBlocks: Int = 32, maxBlocks: Int? = nil,
        historyLength: Int = 100, statisticsWarmup: Int = 1000, statisticsHorizon: Int = 1000,
        varianceFloorFraction: Float = 0.01, questionWeight: Float = 4, blockCacheCapacity: Int = 128,
        statisticsScope: StatisticsScope = .shared, warmupUnit: WarmupUnit = .calls
    ) {
        self.sinkTokens = sinkTokens
        self.localWindow = localWindow
        self.chunkTokens = chunkTokens
        self.blockSize = blockSize
        self.topK = topK
        self.representativeTokens = representativeTokens
        self.minBlocks = minBlocks
        self.maxBlocks = maxBlocks ?? 2 * topK
        self.historyLength = historyLength
        self.statisticsWarmup = statisticsWarmup
        self.statisticsHorizon = statisticsHorizon
        self.varianceFloorFraction = varianceFloorFraction
        self.questionWeight = questionWeight
        self.blockCacheCapacity = blockCacheCapacity
        self.statisticsScope = statisticsScope
        self.warmupUnit = warmupUnit
    }

    /// Retrieved tokens per layer per chunk of the defaults: K·b = 46 · 32.
    public static let defaultRetrievalTokens = 1472

    /// The default budget growth g (kvd's `--budget-growth`, ``grown(blocks:growth:)``): a layer of
    /// N closed blocks is selected with max(K, ⌈N/8⌉) blocks, an eighth of its context once that
    /// exceeds the fixed budget (at b = 8 and 1,472 tokens: past 11,776 tokens, so 8K contexts keep
    /// the fixed budget; measured in docs/BENCHMARKS.md §"Quality (RULER)").
    public static let defaultBudgetGrowth = 8

    /// The documented defaults for blocks of `blockSize` tokens and a budget of `retrievalTokens`
    /// retrieved tokens per layer per chunk (docs/ACTQKV.md §"Parameters"), each block count
    /// standing for the tokens it stands for at the reference's b = 32: K = max(1, ⌊budget / b⌋),
    /// K_min = min(K, max(1, ⌊1024 / b⌋)), K_max = 2K, C = max(2K, ⌈4096 / b⌉), r = min(4, b). At
    /// b = 32 and 1,472 tokens: the defaults (K 46, K_min 32, K_max 92, C 128, r 4). A block size
    /// < 1 gives a configuration that ``validate()`` rejects.
    public init(blockSize: Int, retrievalTokens: Int) {
        let b = max(1, blockSize)
        let k = max(1, retrievalTokens / b)
        self.init(blockSize: blockSize, topK: k, representativeTokens: min(4, b), minBlocks: min(k, max(1, 1024 / b)),
                  maxBlocks: 2 * k, blockCacheCapacity: max(2 * k, (4096 + b - 1) / b))
    }

    /// The configuration a layer of `n` closed blocks is selected with under budget growth `g`
    /// (kvd's `--budget-growth`; 0: none): K grows to ⌈n/g⌉ blocks once that exceeds K, and K_max
    /// and C grow by the same factor (C at least K_max); everything else is unchanged.
    public func grown(blocks n: Int, growth g: Int) -> RetrievalConfig {
        guard g > 0 else { return self }
        let k = n / g + (n % g == 0 ? 0 : 1)
        guard k > topK else { return self }
        var c = self
        c.maxBlocks = maxBlocks * k / topK
        c.topK = k
        c.blockCacheCapacity = max(blockCacheCapacity, c.maxBlocks)
        return c
    }

    /// Retrieved tokens per layer per chunk: `K·b` (1,472 with the defaults).
    public var retrievalTokens: Int { topK * blockSize }

    /// Nominal tokens attended per query per layer: `S + W + K·b` (2048 with the defaults).
    public var nominalBudgetTokens: Int { sinkTokens + localWindow + topK * blockSize }

    /// Blocks in the pool shared by `layers` layers for one chunk: `K·L`.
    public func poolBlocks(layers: Int) -> Int { topK * layers }

    /// Checks every parameter and their combinations.
    /// - Throws: the first ``ConfigError`` found.
    public func validate() throws(ConfigError) {
        func positive(_ name: ConfigError.Parameter, _ v: Int) throws(ConfigError) {
            if v < 1 { throw .notPositive(name, value: v) }
        }
        if sinkTokens < 0 { throw .negative(.sinkTokens, value: sinkTokens) }
        try positive(.localWindow, localWindow)
        try positive(.chunkTokens, chunkTokens)
        try positive(.blockSize, blockSize)
        try positive(.topK, topK)
        try positive(.representativeTokens, representativeTokens)
        try positive(.maxBlocks, maxBlocks)
        try positive(.historyLength, historyLength)
        try positive(.statisticsHorizon, statisticsHorizon)
        try positive(.blockCacheCapacity, blockCacheCapacity)
        if minBlocks < 0 { throw .negative(.minBlocks, value: minBlocks) }
        if statisticsWarmup < 0 { throw .negative(.statisticsWarmup, value: statisticsWarmup) }
        if !(varianceFloorFraction.isFinite && varianceFloorFraction > 0) {
            throw .invalidReal(.varianceFloorFraction, value: varianceFloorFraction)
        }
        if !(questionWeight.isFinite && questionWeight >= 0) {
            throw .invalidReal(.questionWeight, value: questionWeight)
        }
        if representativeTokens > blockSize {
            throw .representativeTokensExceedBlockSize(representativeTokens: representativeTokens, blockSize: blockSize)
        }
        if minBlocks > maxBlocks { throw .minBlocksExceedMaxBlocks(minBlocks: minBlocks, maxBlocks: maxBlocks) }
        if topK > maxBlocks { throw .topKExceedsMaxBlocks(topK: topK, maxBlocks: maxBlocks) }
        if blockCacheCapacity < maxBlocks {
            throw .cacheSmallerThanMaxBlocks(capacity: blockCacheCapacity, maxBlocks: maxBlocks)
        }
        // Sizes are multiplied together for buffers; keep every product far from overflow.
        let limit = 1 << 24
        for (p, v) in [(ConfigError.Parameter.sinkTokens, sinkTokens), (.localWindow, localWindow),
                       (.chunkTokens, chunkTokens), (.blockSize, blockSize), (.maxBlocks, maxBlocks),
                       (.historyLength, historyLength), (.blockCacheCapacity, blockCacheCapacity)] where v > limit {
            throw .tooLarge(p, value: v, limit: limit)
        }
    }
}

import ActQKV
import CoreTypes

/// How a ``LongContextSession`` attends and stores: the method, the algorithm's parameters and
/// the worker's own knobs. Defaults are the documented ones (docs/ACTQKV.md §"Parameters").
public struct LongContextSettings: Sendable, Hashable {
    /// Attention method. `dense` keeps every token in the worker (no daemon); the others keep
    /// only sink + window + remainder + the block cache and store closed blocks in kvd.
    /// Default `actqkv`.
    public var method: RetrievalMethod
    /// S, W, E, b, K, r, C, λ, … Default `RetrievalConfig()` (S 64, W 512, E 256, b 32, K 46, C 128).
    public var retrieval: RetrievalConfig
    /// A periodic checkpoint is written every this many execution chunks of prefill (0 = only at
    /// the prefix boundary, after prefill and at the end). Default 32 chunks (8K tokens with E = 256).
    public var checkpointEveryChunks: Int
    /// g: the budget growth the worker's embedded kvd applies (kvd's `--budget-growth`; with an
    /// external kvd, its own applies; 0: a fixed budget). Default `RetrievalConfig.defaultBudgetGrowth`.
    public var budgetGrowth: Int

    /// Creates settings; every argument defaults to the documented value.
    public init(method: RetrievalMethod = .actqkv, retrieval: RetrievalConfig = RetrievalConfig(), checkpointEveryChunks: Int = 32,
                budgetGrowth: Int = RetrievalConfig.defaultBudgetGrowth) {
        self.method = method; self.retrieval = retrieval; self.checkpointEveryChunks = checkpointEveryChunks
        self.budgetGrowth = budgetGrowth
    }

    /// Folds every parameter that changes stored blocks' contents into `hasher`.
    func absorb(into hasher: inout PrefixHasher) {
        let c = retrieval
        hasher.absorb(UInt32(method.rawValue))
        for v in [c.sinkTokens, c.localWindow, c.chunkTokens, c.blockSize, c.topK, c.representativeTokens, c.minBlocks,
                  c.maxBlocks, c.historyLength, c.statisticsWarmup, c.statisticsHorizon] { hasher.absorb64(UInt64(bitPattern: Int64(v))) }
        hasher.absorb(c.varianceFloorFraction.bitPattern); hasher.absorb(c.questionWeight.bitPattern)
        hasher.absorb(UInt32(c.statisticsScope.rawValue)); hasher.absorb(UInt32(c.warmupUnit.rawValue))
        // Absent when 0, so that names from before the option stay the same.
        if budgetGrowth > 0 { hasher.absorb(0xB6_0000); hasher.absorb64(UInt64(budgetGrowth)) }
    }
}

/// Counters of one session, for the run summary and the tests.
public struct LongContextCounters: Sendable, Hashable {
    /// Tokens run through the model by this process (not restored from a checkpoint).
    public var computedTokens = 0
    /// Tokens restored from a stored prefix or checkpoint instead of being computed.
    public var reusedTokens = 0
    /// Blocks appended to kvd by this process (all layers).
    public var blocksStored = 0
    /// Blocks acknowledged by kvd.
    public var blocksAcknowledged = 0
    /// `retrieve` requests sent (one per layer per execution chunk).
    public var retrieveRequests = 0
    /// Block payloads received (cache misses).
    public var blocksFetched = 0
    /// Payload bytes received.
    public var bytesFetched = 0
    /// Blocks attended from the block cache without crossing the socket.
    public var cacheHits = 0
    /// Checkpoints written.
    public var checkpoints = 0
    /// Prompt-cache points not stored because kvd had no room (the run went on without them).
    public var cachePointsSkipped = 0

    public init() {}
}

/// An impossible ``RetrievalConfig``. ``code`` is stable and may be reported to clients.
public enum ConfigError: Error, Sendable, Hashable {
    /// Names a configuration parameter; the raw value is stable.
    public enum Parameter: UInt8, Sendable, Hashable {
        case sinkTokens = 1, localWindow, chunkTokens, blockSize, topK, representativeTokens, minBlocks,
             maxBlocks, historyLength, statisticsWarmup, statisticsHorizon, varianceFloorFraction,
             questionWeight, blockCacheCapacity, layers
    }
    /// A count that must be ≥ 1 is not.
    case notPositive(Parameter, value: Int)
    /// A count that must be ≥ 0 is negative.
    case negative(Parameter, value: Int)
    /// A real parameter is NaN, infinite, or out of its range.
    case invalidReal(Parameter, value: Float)
    /// r > b: a block cannot have more representative tokens than tokens.
    case representativeTokensExceedBlockSize(representativeTokens: Int, blockSize: Int)
    /// K_min > K_max.
    case minBlocksExceedMaxBlocks(minBlocks: Int, maxBlocks: Int)
    /// K > K_max: the fixed InfLLM count could not fit the cache sized for K_max.
    case topKExceedsMaxBlocks(topK: Int, maxBlocks: Int)
    /// C < K_max: the block cache could not hold one selection.
    case cacheSmallerThanMaxBlocks(capacity: Int, maxBlocks: Int)
    /// A size beyond what buffers may hold.
    case tooLarge(Parameter, value: Int, limit: Int)

    /// Stable numeric code (1xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .notPositive: 101
        case .negative: 102
        case .invalidReal: 103
        case .representativeTokensExceedBlockSize: 104
        case .minBlocksExceedMaxBlocks: 105
        case .topKExceedsMaxBlocks: 106
        case .cacheSmallerThanMaxBlocks: 107
        case .tooLarge: 108
        }
    }
}

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

extension ConfigError: CustomStringConvertible {
    /// One line naming the parameter(s) and the offending value(s), e.g.
    /// `questionWeight = -1.0 is out of range (finite, ≥ 0)`.
    public var description: String {
        switch self {
        case .notPositive(let p, let v): "\(p) = \(v) must be ≥ 1"
        case .negative(let p, let v): "\(p) = \(v) must be ≥ 0"
        case .invalidReal(.varianceFloorFraction, let v): "varianceFloorFraction = \(v) is out of range (finite, > 0)"
        case .invalidReal(let p, let v): "\(p) = \(v) is out of range (finite, ≥ 0)"
        case .representativeTokensExceedBlockSize(let r, let b): "representativeTokens = \(r) exceeds blockSize = \(b)"
        case .minBlocksExceedMaxBlocks(let lo, let hi): "minBlocks = \(lo) exceeds maxBlocks = \(hi)"
        case .topKExceedsMaxBlocks(let k, let hi): "topK = \(k) exceeds maxBlocks = \(hi)"
        case .cacheSmallerThanMaxBlocks(let c, let hi): "blockCacheCapacity = \(c) is below maxBlocks = \(hi) (one selection must fit)"
        case .tooLarge(let p, let v, let limit): "\(p) = \(v) exceeds the limit \(limit)"
        }
    }
}

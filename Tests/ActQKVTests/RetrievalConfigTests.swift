import Testing
@testable import ActQKV

@Suite("RetrievalConfig")
struct RetrievalConfigTests {
    @Test("defaults are the documented ones")
    func defaults() throws {
        let c = RetrievalConfig()
        #expect([c.sinkTokens, c.localWindow, c.chunkTokens, c.blockSize, c.topK, c.representativeTokens, c.minBlocks,
                  c.maxBlocks, c.historyLength, c.statisticsWarmup, c.statisticsHorizon, c.blockCacheCapacity]
                == [64, 512, 256, 32, 46, 4, 32, 92, 100, 1000, 1000, 128])
        #expect(c.varianceFloorFraction == 0.01 && c.questionWeight == 4)
        #expect(c.statisticsScope == .shared && c.warmupUnit == .calls)
        #expect(c.nominalBudgetTokens == 2048)
        #expect(c.poolBlocks(layers: 30) == 1380)
        try c.validate()
        #expect(RetrievalConfig(topK: 10).maxBlocks == 20)
    }

    @Test("a budget in tokens: the block counts stand for the reference's tokens at any block size")
    func budgetInTokens() throws {
        let reference = RetrievalConfig(blockSize: 32, retrievalTokens: RetrievalConfig.defaultRetrievalTokens)
        #expect(reference == RetrievalConfig())
        let eight = RetrievalConfig(blockSize: 8, retrievalTokens: 1472)
        #expect([eight.topK, eight.minBlocks, eight.maxBlocks, eight.blockCacheCapacity, eight.representativeTokens] == [184, 128, 368, 512, 4])
        #expect(eight.retrievalTokens == 1472 && eight.nominalBudgetTokens == 2048)
        try eight.validate()
        // A budget that is not a multiple of b rounds down to whole blocks, never below one.
        let two = RetrievalConfig(blockSize: 2, retrievalTokens: 9)
        #expect([two.topK, two.minBlocks, two.maxBlocks, two.representativeTokens] == [4, 4, 8, 2] && two.retrievalTokens == 8)
        try two.validate()
        #expect(RetrievalConfig(blockSize: 64, retrievalTokens: 10).topK == 1)
        #expect(throws: ConfigError.notPositive(.blockSize, value: 0)) { try RetrievalConfig(blockSize: 0, retrievalTokens: 100).validate() }
    }

    @Test("impossible combinations are typed errors with stable codes")
    func validation() {
        let cases: [(RetrievalConfig, ConfigError)] = [
            (RetrievalConfig(blockCacheCapacity: 91), .cacheSmallerThanMaxBlocks(capacity: 91, maxBlocks: 92)),
            (RetrievalConfig(blockSize: 2), .representativeTokensExceedBlockSize(representativeTokens: 4, blockSize: 2)),
            (RetrievalConfig(minBlocks: 93), .minBlocksExceedMaxBlocks(minBlocks: 93, maxBlocks: 92)),
            (RetrievalConfig(topK: 50, maxBlocks: 40), .topKExceedsMaxBlocks(topK: 50, maxBlocks: 40)),
            (RetrievalConfig(localWindow: 0), .notPositive(.localWindow, value: 0)),
            (RetrievalConfig(sinkTokens: -1), .negative(.sinkTokens, value: -1)),
            (RetrievalConfig(varianceFloorFraction: 0), .invalidReal(.varianceFloorFraction, value: 0)),
            (RetrievalConfig(questionWeight: .nan), .invalidReal(.questionWeight, value: .nan)),
        ]
        for (config, expected) in cases {
            do { try config.validate(); Issue.record("accepted \(config)") } catch {
                if case .invalidReal(let p, let v) = expected, case .invalidReal(let p2, let v2) = error {
                    #expect(p == p2 && (v == v2 || (v.isNaN && v2.isNaN)))
                } else {
                    #expect(error == expected)
                }
                #expect((101...108).contains(error.code))
            }
        }
        #expect(ConfigError.cacheSmallerThanMaxBlocks(capacity: 1, maxBlocks: 2).code == 107)
        #expect(throws: ConfigError.notPositive(.layers, value: 0)) { _ = try ProbeState(config: RetrievalConfig(), layers: 0) }
        #expect(throws: ConfigError.notPositive(.layers, value: 0)) { _ = try SelectionState(config: RetrievalConfig(), layers: 0) }
        #expect(throws: ConfigError.cacheSmallerThanMaxBlocks(capacity: 10, maxBlocks: 92)) {
            _ = try ProbeState(config: RetrievalConfig(blockCacheCapacity: 10), layers: 30)
        }
        #expect(throws: ConfigError.cacheSmallerThanMaxBlocks(capacity: 10, maxBlocks: 92)) {
            _ = try SelectionState(config: RetrievalConfig(blockCacheCapacity: 10), layers: 30)
        }
    }

    @Test("each error reads as one line naming the parameter and the value")
    func descriptions() {
        #expect(ConfigError.invalidReal(.questionWeight, value: -1).description == "questionWeight = -1.0 is out of range (finite, ≥ 0)")
        #expect(ConfigError.invalidReal(.varianceFloorFraction, value: 0).description.contains("> 0"))
        #expect(ConfigError.notPositive(.localWindow, value: 0).description == "localWindow = 0 must be ≥ 1")
        #expect(ConfigError.cacheSmallerThanMaxBlocks(capacity: 91, maxBlocks: 92).description.contains("blockCacheCapacity = 91"))
        #expect(ConfigError.tooLarge(.blockSize, value: 1 << 25, limit: 1 << 24).description == "blockSize = 33554432 exceeds the limit 16777216")
    }
}

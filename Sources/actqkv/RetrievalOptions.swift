import ActQKV
import ArgumentParser

/// The retrieval parameters `actqkv run` and `actqkv eval` accept (docs/ACTQKV.md §"Parameters"); every
/// default is ``RetrievalConfig``'s.
struct RetrievalOptions: ParsableArguments {
    @Option(help: "Sink tokens S.") var sink = 64
    @Option(help: "Local window W, tokens.") var window = 512
    @Option(help: "Execution chunk E, tokens.") var chunk = 256
    @Option(help: "Tokens per block b.") var block = 8
    @Option(name: .customLong("retrieval-tokens"), help: "Retrieval budget: tokens retrieved per layer per chunk, K·b (K = tokens / b blocks). The embedded kvd retrieves this many; with --socket the daemon's own budget applies.")
    var retrievalTokens = RetrievalConfig.defaultRetrievalTokens
    @Option(name: .customLong("budget-growth"), help: "Budget growth g of the embedded kvd: a layer of N blocks gets max(K, ⌈N/g⌉) blocks per chunk (0: a fixed budget; with --socket the daemon's own applies).")
    var budgetGrowth = RetrievalConfig.defaultBudgetGrowth
    @Option(name: .customLong("cache-blocks"), help: "Block cache C per layer, ≥ 2K (default: max(2K, 4096 / b)).") var cacheBlocks: Int?
    @Option(name: .customLong("question-weight"), help: "λ: weight of the question term in prefill scoring (cosine scores: actqkv's density, actqkv-ref, dynamic-only, activate-only; 0 turns it off).")
    var questionWeight: Float = 4
    @Option(name: .customLong("statistics-scope"), help: "Activation statistics: shared (one set for all layers) or per-layer.")
    var statisticsScope = "shared"
    @Option(name: .customLong("warmup-unit"), help: "Statistics warm-up counted in calls (reference) or tokens.")
    var warmupUnit = "calls"
    @Option(help: "Statistics warm-up (calls or tokens, see --warmup-unit).") var warmup = 1000

    static func parseScope(_ text: String) throws -> StatisticsScope {
        switch text {
        case "shared": .shared
        case "per-layer": .perLayer
        default: throw ValidationError("unknown --statistics-scope '\(text)' (shared, per-layer)")
        }
    }

    static func parseWarmupUnit(_ text: String) throws -> WarmupUnit {
        switch text {
        case "calls": .calls
        case "tokens": .tokens
        default: throw ValidationError("unknown --warmup-unit '\(text)' (calls, tokens)")
        }
    }

    func validate() throws {
        guard retrievalTokens >= 1 else { throw ValidationError("--retrieval-tokens must be ≥ 1 (tokens per layer per chunk)") }
        guard budgetGrowth >= 0 else { throw ValidationError("--budget-growth must be ≥ 0 (0: a fixed budget)") }
        _ = try config
    }

    /// The validated configuration; an invalid combination is a `ValidationError` naming the
    /// parameter and its stable code.
    var config: RetrievalConfig {
        get throws {
            var config = RetrievalConfig(blockSize: block, retrievalTokens: retrievalTokens)
            config.sinkTokens = sink
            config.localWindow = window
            config.chunkTokens = chunk
            config.statisticsWarmup = warmup
            config.questionWeight = questionWeight
            if let cacheBlocks { config.blockCacheCapacity = cacheBlocks }
            config.statisticsScope = try Self.parseScope(statisticsScope)
            config.warmupUnit = try Self.parseWarmupUnit(warmupUnit)
            do { try config.validate() } catch { throw ValidationError("\(error) (code \(error.code))") }
            return config
        }
    }
}

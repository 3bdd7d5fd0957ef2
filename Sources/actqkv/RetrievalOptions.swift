import ActQKV
import ArgumentParser

/// The retrieval parameters `actqkv run` and `actqkv eval` accept (docs/ACTQKV.md §"Parameters"); every
/// default is ``RetrievalConfig``'s.
struct RetrievalOptions: ParsableArguments {
    @Option(help: "Sink tokens S.") var sink = 64
    @Option(help: "Local window W, tokens.") var window = 512
    @Option(help: "Execution chunk E, tokens.") var chunk = 256
    @Option(help: "Tokens per block b.") var block = 32
    @Option(name: .customLong("top-k"), help: "Nominal blocks per layer K.") var topK = 46
    @Option(name: .customLong("cache-blocks"), help: "Block cache C per layer (≥ 2K).") var cacheBlocks = 128
    @Option(name: .customLong("question-weight"), help: "λ: weight of the question term in prefill scoring (actqkv, dynamic-only, activate-only; 0 turns it off).")
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

    func validate() throws { _ = try config }

    /// The validated configuration; an invalid combination is a `ValidationError` naming the
    /// parameter and its stable code.
    var config: RetrievalConfig {
        get throws {
            let config = RetrievalConfig(sinkTokens: sink, localWindow: window, chunkTokens: chunk, blockSize: block, topK: topK,
                                         maxBlocks: 2 * topK, statisticsWarmup: warmup, questionWeight: questionWeight,
                                         blockCacheCapacity: cacheBlocks, statisticsScope: try Self.parseScope(statisticsScope),
                                         warmupUnit: try Self.parseWarmupUnit(warmupUnit))
            do { try config.validate() } catch { throw ValidationError("\(error) (code \(error.code))") }
            return config
        }
    }
}

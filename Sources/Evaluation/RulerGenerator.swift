import CoreTypes

/// Generates RULER samples (docs/EVALUATION.md §"RULER"): the sample `index` of a task at a
/// length depends only on (seed, task, length, index) and the data, and holds as many haystack
/// units as fit in `length` with the task's answer tokens, counted by the caller's `measure`
/// (the evaluated model's tokenizer over the prompt as it will be laid out).
public struct RulerGenerator: Sendable {
    public let data: RulerData

    public init(data: RulerData) { self.data = data }

    /// The sample; `measure` returns the prompt's token count.
    public func sample(task: RulerTask, length: Int, seed: UInt64, index: Int,
                       measure: (RulerPrompt) -> Int) throws(RulerError) -> RulerSample {
        var rng = SplitMix64(seed: Self.sampleSeed(seed: seed, task: task, length: length, index: index))
        let builder: any SampleBuilder
        switch task.family {
        case .needle: builder = NeedleTask(configuration: task.needles!, data: data, rng: &rng)
        case .variableTracking: builder = try VariableTrackingTask(rng: &rng, measure: measure)
        case .commonWords: builder = CommonWordsTask(data: data, length: length, rng: &rng)
        case .frequentWords: builder = FrequentWordsTask(length: length, rng: &rng)
        case .questionAnswering:
            guard let set = task == .qa1 ? data.squad : data.hotpotqa else {
                throw .missingData(path: task == .qa1 ? RulerData.File.squad.rawValue : RulerData.File.hotpotqa.rawValue)
            }
            builder = DocumentQATask(set: set, depthOfGold: task == .qa1, rng: &rng)
        }
        let budget = length - task.tokensToGenerate
        let (units, tokens) = try Self.fit(builder, budget: budget, measure: measure, task: task, length: length)
        let made = builder.assemble(units: units)
        return RulerSample(task: task, length: length, seed: seed, index: index, prompt: made.prompt, references: made.references,
                           referenceDepths: made.referenceDepths, promptTokens: tokens, haystackUnits: units)
    }

    /// The seed of one sample's random choices.
    static func sampleSeed(seed: UInt64, task: RulerTask, length: Int, index: Int) -> UInt64 {
        var r = SplitMix64(seed: seed ^ (task.seedTag &* 0xD1B5_4A32_D192_ED03))
        var mixed = r.next() ^ (UInt64(length) &* 0x9E37_79B9_7F4A_7C15)
        r = SplitMix64(seed: mixed)
        mixed = r.next() ^ (UInt64(index) &* 0xBF58_476D_1CE4_E5B9)
        r = SplitMix64(seed: mixed)
        return r.next()
    }

    /// The largest unit count whose prompt fits in `budget` tokens, and its token count: an
    /// interpolation search (prompt tokens grow about linearly with units) that falls back to
    /// bisection when a guess does not halve the interval.
    static func fit(_ builder: any SampleBuilder, budget: Int, measure: (RulerPrompt) -> Int,
                    task: RulerTask, length: Int) throws(RulerError) -> (units: Int, tokens: Int) {
        let range = builder.units
        var lo = range.lowerBound
        var loTokens = measure(builder.assemble(units: lo).prompt)
        guard loTokens <= budget else {
            throw .lengthTooShort(task: task.rawValue, length: length, minimum: loTokens + task.tokensToGenerate)
        }
        var hi = range.upperBound + 1  // the smallest count known not to fit (upper bound + 1: none known)
        var hiTokens = Int.max
        var bisect = false
        while hi - lo > 1 {
            var guess: Int
            if hiTokens == Int.max {
                // No upper bound yet: extrapolate from the origin through (lo, loTokens), aiming
                // at the budget, growing at most fourfold per step.
                let perUnit = Double(max(loTokens, 1)) / Double(max(lo, 1))
                guess = min(Int(Double(budget) / perUnit), lo * 4)
            } else if bisect {
                guess = lo + (hi - lo) / 2
            } else {
                let slope = Double(hiTokens - loTokens) / Double(hi - lo)
                guess = lo + Int(Double(budget - loTokens) / max(slope, 1e-9))
            }
            guess = min(max(guess, lo + 1), hi - 1)
            let width = hi - lo
            let tokens = measure(builder.assemble(units: guess).prompt)
            if tokens <= budget { lo = guess; loTokens = tokens } else { hi = guess; hiTokens = tokens }
            bisect = !bisect && (hi - lo) * 2 > width
        }
        return (lo, loTokens)
    }
}

import CoreTypes

/// Chooses tokens from logits: greedy, or temperature + nucleus (top-p) sampling with a
/// seeded generator. One sampler per sequence; it advances its generator on each draw.
public struct Sampler: Sendable {
    /// The parameters it was created with.
    public let parameters: SamplingParameters
    private var generator: SplitMix64

    /// A sampler whose generator starts at `parameters.seed`.
    public init(parameters: SamplingParameters = .greedy) {
        self.parameters = parameters
        generator = SplitMix64(seed: parameters.seed)
    }

    /// The id of the largest logit (the lowest id among equal maxima). `logits` must be non-empty.
    /// Inlinable, so a caller in another module gets a loop specialised for its collection
    /// (unspecialised, each element costs a witness-table call).
    @inlinable
    public static func argmax(_ logits: some Collection<Float>) -> Int32 {
        var best = -Float.infinity, bestIndex = 0, i = 0
        for v in logits {
            if v > best { best = v; bestIndex = i }
            i += 1
        }
        return Int32(bestIndex)
    }

    /// Probabilities softmax(logits / temperature) in Double (sums to 1). `temperature > 0`.
    public static func probabilities(_ logits: [Float], temperature: Float) -> [Double] {
        let t = Double(temperature)
        let m = Double(logits.max() ?? 0)
        var p = logits.map { Foundation_exp((Double($0) - m) / t) }
        let s = p.reduce(0, +)
        for i in p.indices { p[i] /= s }
        return p
    }

    /// The nucleus of `probabilities`: token ids in decreasing probability (ties: lower id
    /// first), the smallest prefix whose mass is at least `topP`.
    public static func nucleus(_ probabilities: [Double], topP: Float) -> [Int32] {
        // Only tokens above a threshold can be in the nucleus when those tokens already
        // carry the mass; try a high threshold first to avoid sorting the whole vocabulary.
        let target = Double(topP)
        var candidates: [Int] = []
        for threshold in [1e-4, 1e-9, -1] {
            candidates = probabilities.indices.filter { probabilities[$0] > threshold }
            if candidates.reduce(0.0, { $0 + probabilities[$1] }) >= target { break }
        }
        let order = candidates.sorted { a, b in
            probabilities[a] != probabilities[b] ? probabilities[a] > probabilities[b] : a < b
        }
        var kept = [Int32]()
        var mass = 0.0
        for i in order {
            kept.append(Int32(i))
            mass += probabilities[i]
            if mass >= target { break }
        }
        return kept
    }

    /// Draws the next token from `logits` (`vocabularySize` floats).
    public mutating func sample(_ logits: [Float]) -> Int32 {
        precondition(!logits.isEmpty)
        if parameters.temperature <= 0 { return Self.argmax(logits) }
        let p = Self.probabilities(logits, temperature: parameters.temperature)
        let kept = Self.nucleus(p, topP: parameters.topP)
        let mass = kept.reduce(0.0) { $0 + p[Int($1)] }
        var u = generator.nextUnit() * mass
        for id in kept {
            u -= p[Int(id)]
            if u < 0 { return id }
        }
        return kept[kept.count - 1]
    }
}

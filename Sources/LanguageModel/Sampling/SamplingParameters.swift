/// How the next token is chosen from the logits.
///
/// Defaults: `temperature` 0 (greedy), `topP` 1 (no nucleus cut), `seed` 0.
public struct SamplingParameters: Sendable, Equatable {
    /// Softmax temperature; 0 (or below) means greedy (the argmax, lowest id on ties).
    public var temperature: Float
    /// Nucleus mass in (0, 1]: sampling keeps the smallest set of most probable tokens whose
    /// probability mass is at least `topP`.
    public var topP: Float
    /// Seed of the random generator; the same seed, logits and parameters give the same tokens.
    public var seed: UInt64

    /// Creates parameters; `topP` is clamped to (0, 1].
    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = min(1, max(topP, .leastNonzeroMagnitude))
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters()
}

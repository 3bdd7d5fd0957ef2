/// A prompt in RULER's base-model completion form, in the three parts the long-context worker
/// lays out one after another (no separator added): the document (the template's text before
/// the context, and the context), the question (the template's text after the context) and the
/// answer prefix the model continues.
public struct RulerPrompt: Sendable, Hashable, Codable {
    public var document: String
    public var question: String
    public var answerPrefix: String

    public init(document: String, question: String, answerPrefix: String) {
        self.document = document; self.question = question; self.answerPrefix = answerPrefix
    }

    /// The whole prompt text (what RULER's `input` field holds).
    public var text: String { document + question + answerPrefix }
}

/// One generated sample of a task at a length.
public struct RulerSample: Sendable, Hashable {
    public var task: RulerTask
    /// The length the sample is made for, tokens: prompt + the task's answer tokens ≤ length.
    public var length: Int
    public var seed: UInt64
    public var index: Int
    public var prompt: RulerPrompt
    /// The strings a correct answer contains (all of them, or any one for qa tasks).
    public var references: [String]
    /// Where in the context each reference's carrier sits, 0 (start) … 1 (end); nil where it
    /// has no single place (cwe, fwe, HotpotQA).
    public var referenceDepths: [Double?]
    /// The prompt's tokens, as counted by the generator's measure.
    public var promptTokens: Int
    /// Haystack units the context holds (essay words, filler lines, distractor needles, list
    /// words, coded words or documents).
    public var haystackUnits: Int
}

/// What a task's builder makes of a number of haystack units.
struct AssembledSample {
    var prompt: RulerPrompt
    var references: [String]
    var referenceDepths: [Double?]
}

/// A task's sample with every random choice made, waiting for its size: `assemble(units:)` is a
/// pure function of the unit count, so the generator can search for the largest count that fits.
protocol SampleBuilder {
    /// The fewest and most units the task can hold.
    var units: ClosedRange<Int> { get }
    func assemble(units: Int) -> AssembledSample
}

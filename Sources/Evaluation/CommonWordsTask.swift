import CoreTypes

/// RULER's common words extraction (`common_words_extraction.py`): a numbered list in which ten
/// words appear 30 times and every other word 3 times (6 and 1 below 4K tokens); the question
/// asks for the ten most common. A worked example (40 words) comes first, as in RULER.
struct CommonWordsTask: SampleBuilder {
    static let head = "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n"
    static let question = "\nQuestion: What are the 10 most common words in the above list?"
    static let answerPrefix = " Answer: The top 10 words that appear most often in the list are:"
    static let commonCount = 10

    /// The sample's words in the order drawn: the first ten are the common ones.
    let order: [String]
    let repeats: (common: Int, uncommon: Int)
    /// The worked example with its answer, and the newline before the task.
    let example: String
    /// The state that shuffles the list (the same for every size).
    let shuffleSeed: UInt64

    init(data: RulerData, length: Int, rng: inout SplitMix64) {
        var vocabulary = Array(Set(data.nouns + data.adjectives + data.verbs)).sorted()
        rng.shuffle(&vocabulary)
        let short = length < 4096
        repeats = short ? (6, 1) : (30, 3)
        let exampleWords = rng.sample(short ? 20 : 40, of: vocabulary.count).map { vocabulary[$0] }
        var exampleRNG = SplitMix64(seed: rng.next())
        let exampleList = Self.list(exampleWords, repeats: short ? (3, 1) : (10, 3), rng: &exampleRNG)
        let answer = exampleWords.prefix(Self.commonCount).enumerated().map { "\($0 + 1). \($1)" }.joined(separator: " ")
        example = Self.head + exampleList + Self.question + Self.answerPrefix + answer + "\n"
        order = vocabulary
        shuffleSeed = rng.next()
    }

    /// The numbered list of `words` (the first ten common) with the given repeats, shuffled.
    static func list(_ words: [String], repeats: (common: Int, uncommon: Int), rng: inout SplitMix64) -> String {
        var all: [String] = []
        for (i, w) in words.enumerated() {
            all += Array(repeating: w, count: i < commonCount ? repeats.common : repeats.uncommon)
        }
        rng.shuffle(&all)
        return all.enumerated().map { "\($0 + 1). \($1)" }.joined(separator: " ")
    }

    var units: ClosedRange<Int> { (Self.commonCount + 1)...max(Self.commonCount + 1, order.count) }

    func assemble(units n: Int) -> AssembledSample {
        var rng = SplitMix64(seed: shuffleSeed)
        let context = Self.list(Array(order.prefix(n)), repeats: repeats, rng: &rng)
        return AssembledSample(prompt: RulerPrompt(document: example + Self.head + context, question: Self.question, answerPrefix: Self.answerPrefix),
                               references: Array(order.prefix(Self.commonCount)), referenceDepths: Array(repeating: nil, count: Self.commonCount))
    }
}

import CoreTypes

/// RULER's question answering (`qa.py`): the question's gold documents among distractors
/// ("Document i:\n…"), the question after them; correct when the answer contains any accepted
/// answer. SQuAD's distractors are first the other paragraphs of the same article.
struct DocumentQATask: SampleBuilder {
    static let head = "Answer the question based on the given documents. Only give me the answer and do not output any other words.\n\nThe following are given documents.\n\n"
    static let question = "\n\nAnswer the question based on the given documents. Only give me the answer and do not output any other words.\n\nQuestion: {query}"
    static let answerPrefix = " Answer:"

    let set: RulerData.QuestionSet
    let item: RulerData.QuestionSet.Question
    /// Distractors in the order they are added.
    let distractors: [Int]
    let depthOfGold: Bool
    let shuffleSeed: UInt64

    init(set: RulerData.QuestionSet, depthOfGold: Bool, rng: inout SplitMix64) {
        self.set = set
        self.depthOfGold = depthOfGold
        item = rng.pick(set.questions)
        var related = item.related
        rng.shuffle(&related)
        let excluded = Set(item.gold + item.related)
        var others = Array(0..<set.documents.count).filter { !excluded.contains($0) }
        rng.shuffle(&others)
        distractors = related + others
        shuffleSeed = rng.next()
    }

    var units: ClosedRange<Int> { item.gold.count...(item.gold.count + distractors.count) }

    func assemble(units n: Int) -> AssembledSample {
        var docs = item.gold + distractors.prefix(n - item.gold.count)
        var rng = SplitMix64(seed: shuffleSeed)
        rng.shuffle(&docs)
        let context = docs.enumerated().map { "Document \($0 + 1):\n\(set.documents[$1])" }.joined(separator: "\n\n")
        let depth: Double? = depthOfGold ? docs.firstIndex(of: item.gold[0]).map { Double($0) / Double(docs.count) } : nil
        return AssembledSample(prompt: RulerPrompt(document: Self.head + context,
                                                   question: Self.question.replacingOccurrences(of: "{query}", with: item.query),
                                                   answerPrefix: Self.answerPrefix),
                               references: item.answers, referenceDepths: Array(repeating: depth, count: item.answers.count))
    }
}

import CoreTypes
import Foundation

/// RULER's frequent words extraction (`freq_words_extraction.py`, α = 2): coded six-letter words
/// drawn from a Zipf distribution over a vocabulary of length/50 words; the most frequent is
/// "..." (noise), and the question asks for the next three.
struct FrequentWordsTask: SampleBuilder {
    static let head = "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. "
    static let question = "\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text?"
    static let answerPrefix = " Answer: According to the coded text above, the three most frequently appeared words are:"
    static let alpha = 2.0
    /// ζ(2) = π²/6, the normaliser of the Zipf counts.
    static let zeta = Double.pi * Double.pi / 6
    static let wordLength = 6

    /// Ranked vocabulary: rank 1 is "...".
    let vocabulary: [String]
    let shuffleSeed: UInt64

    init(length: Int, rng: inout SplitMix64) {
        let size = max(length / 50, 5)
        var words = Set<String>()
        while words.count < size {
            words.insert(String((0..<Self.wordLength).map { _ in Character(UnicodeScalar(UInt8(97 + rng.below(26)))) }))
        }
        var ranked = words.sorted()
        rng.shuffle(&ranked)
        ranked[0] = "..."
        vocabulary = ranked
        shuffleSeed = rng.next()
    }

    var units: ClosedRange<Int> { 30...100_000_000 }

    func assemble(units n: Int) -> AssembledSample {
        var words: [String] = []
        for (k, w) in vocabulary.enumerated() {
            let count = Int(Double(n) * pow(Double(k + 1), -Self.alpha) / Self.zeta)
            words += Array(repeating: w, count: count)
        }
        var rng = SplitMix64(seed: shuffleSeed)
        rng.shuffle(&words)
        return AssembledSample(prompt: RulerPrompt(document: Self.head + words.joined(separator: " "), question: Self.question, answerPrefix: Self.answerPrefix),
                               references: Array(vocabulary[1...3]), referenceDepths: [nil, nil, nil])
    }
}

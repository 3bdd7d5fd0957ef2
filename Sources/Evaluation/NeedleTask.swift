import CoreTypes
import Foundation

/// RULER's needle-in-a-haystack tasks (`niah.py`): needles "One of the special magic numbers
/// for KEY is: VALUE." hidden in repeated filler, in the essays, or among other needles; the
/// question asks for the values of one or more keys.
struct NeedleTask: SampleBuilder {
    /// RULER's template and answer prefix (`constants.py`, `niah`), split at the context and
    /// before the answer prefix.
    static let head = "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will quiz you about the {type_needle_v} afterwards.\n"
    static let question = "\nWhat are all the special magic {type_needle_v} for {query} mentioned in the provided text?"
    static let answerPrefix = " The special magic {type_needle_v} for {query} mentioned in the provided text are"
    static let needle = "One of the special magic {type_needle_v} for {key} is: {value}."
    static let repeatedFiller = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    /// RULER's insertion depths in the essays: 40 evenly spaced percentages, rounded.
    static let depthPercents: [Int] = (0..<40).map { Int((Double($0) * 100 / 39).rounded(.toNearestOrEven)) }

    let configuration: NeedleConfiguration
    let essayWords: [String]
    /// The needles in insertion order: text, and the (key, value) indices it carries.
    let needles: [(text: String, key: Int, value: Int)]
    let values: [[String]]
    /// The queried keys' indices, in the order they are asked.
    let queried: [Int]
    let head: String, question: String, answerPrefix: String
    /// Essay haystack: the insertion depth of each needle (percent, sorted); repeated and needle
    /// haystacks: each needle's position as a fraction of the lines.
    let depths: [Double]
    /// The seed of distractor needle i (needle haystack).
    let distractorSeed: UInt64
    let words: (adjectives: [String], nouns: [String])

    init(configuration c: NeedleConfiguration, data: RulerData, rng: inout SplitMix64) {
        configuration = c
        essayWords = data.essayWords
        words = (data.adjectives, data.nouns)
        let keyCount = max(c.keys, c.queries)
        var keys: [String] = [], values: [[String]] = [], needles: [(String, Int, Int)] = []
        for k in 0..<keyCount {
            keys.append(Self.random(c.keyKind, words: words, rng: &rng))
            var vs: [String] = []
            for v in 0..<c.values {
                vs.append(Self.random(c.valueKind, words: words, rng: &rng))
                needles.append((Self.fill(Self.needle, type: c.valueKind.rawValue, key: keys[k], value: vs[v]), k, v))
            }
            values.append(vs)
        }
        rng.shuffle(&needles)
        self.needles = needles
        self.values = values
        queried = rng.sample(c.queries, of: keyCount)
        let queries = queried.map { keys[$0] }
        let query = queries.count > 1 ? queries.dropLast().joined(separator: ", ") + ", and " + queries.last! : queries[0]
        // RULER turns the template singular when one value is asked for — on the template's
        // text, before the fields are filled in.
        var parts = [Self.head, Self.question, Self.answerPrefix]
        var type = c.valueKind.rawValue
        if c.queries * c.values == 1 {
            parts = parts.map {
                $0.replacingOccurrences(of: "Some", with: "A").replacingOccurrences(of: "are all", with: "is")
                    .replacingOccurrences(of: "are", with: "is").replacingOccurrences(of: "answers", with: "answer")
            }
            type.removeLast()
        }
        let filled = parts.map { Self.fill($0, type: type, query: query) }
        (head, question, answerPrefix) = (filled[0], filled[1], filled[2])
        if c.haystack == .essay {
            depths = rng.sample(needles.count, of: Self.depthPercents.count).map { Double(Self.depthPercents[$0]) }.sorted()
        } else {
            depths = needles.map { _ in rng.nextUnit() }
        }
        distractorSeed = rng.next()
    }

    var units: ClosedRange<Int> {
        switch configuration.haystack {
        case .essay: 1...max(1, essayWords.count)
        case .repeated, .needles: 1...10_000_000
        }
    }

    func assemble(units n: Int) -> AssembledSample {
        var depthOfNeedle = [Double](repeating: 0, count: needles.count)
        let context: String
        switch configuration.haystack {
        case .essay:
            let sentences = SentenceSplitter.split(essayWords[0..<n].joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines))
            let positions = [0] + depths.map { Int(Double(sentences.count) * ($0 / 100)) } + [sentences.count]
            var pieces: [String] = []
            for i in 1..<positions.count {
                pieces.append(sentences[positions[i - 1]..<positions[i]].joined(separator: " "))
                if i - 1 < needles.count { pieces.append(needles[i - 1].text); depthOfNeedle[i - 1] = depths[i - 1] / 100 }
            }
            context = pieces.joined(separator: " ")
        case .repeated, .needles:
            var lines: [String]
            if configuration.haystack == .repeated {
                lines = Array(repeating: Self.repeatedFiller, count: n)
            } else {
                lines = (0..<n).map { i in
                    var r = SplitMix64(seed: distractorSeed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                    let key = Self.random(configuration.keyKind, words: words, rng: &r)
                    let value = Self.random(configuration.valueKind, words: words, rng: &r)
                    return Self.fill(Self.needle, type: configuration.valueKind.rawValue, key: key, value: value)
                }
            }
            // RULER inserts at indices sorted in descending order, the first needle at the largest.
            let indices = depths.map { min(n - 1, Int($0 * Double(n))) }.sorted(by: >)
            for (i, index) in indices.enumerated() {
                lines.insert(needles[i].text, at: index)
                depthOfNeedle[i] = Double(index) / Double(n)
            }
            context = lines.joined(separator: "\n")
        }
        var references: [String] = [], referenceDepths: [Double?] = []
        for k in queried {
            for v in 0..<values[k].count {
                references.append(values[k][v])
                referenceDepths.append(depthOfNeedle[needles.firstIndex { $0.key == k && $0.value == v }!])
            }
        }
        return AssembledSample(prompt: RulerPrompt(document: head + context, question: question, answerPrefix: answerPrefix),
                               references: references, referenceDepths: referenceDepths)
    }

    static func fill(_ template: String, type: String, key: String = "", value: String = "", query: String = "") -> String {
        template.replacingOccurrences(of: "{type_needle_v}", with: type).replacingOccurrences(of: "{key}", with: key)
            .replacingOccurrences(of: "{value}", with: value).replacingOccurrences(of: "{query}", with: query)
    }

    /// A random key or value of `kind` (RULER's `generate_random`).
    static func random(_ kind: NeedleConfiguration.Kind, words: (adjectives: [String], nouns: [String]), rng: inout SplitMix64) -> String {
        switch kind {
        case .numbers: return String(rng.int(1_000_000...9_999_999))
        case .words: return rng.pick(words.adjectives) + "-" + rng.pick(words.nouns)
        case .uuids: return uuid4(rng.next(), rng.next())
        }
    }

    /// A version-4 UUID from 128 random bits, as Python's `uuid.UUID(int=…, version=4)` makes it.
    static func uuid4(_ high: UInt64, _ low: UInt64) -> String {
        let h = (high & ~0xF000) | 0x4000  // version nibble
        let l = (low & ~(UInt64(0xC000) << 48)) | (UInt64(0x8000) << 48)  // variant 10
        func hex(_ v: UInt64, _ digits: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: digits - s.count) + s
        }
        return "\(hex(h >> 32, 8))-\(hex((h >> 16) & 0xFFFF, 4))-\(hex(h & 0xFFFF, 4))-\(hex(l >> 48, 4))-\(hex(l & 0xFFFF_FFFF_FFFF, 12))"
    }
}

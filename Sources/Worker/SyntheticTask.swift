import CoreTypes
import LanguageModel

/// InfiniteBench-style synthetic retrieval tasks generated from a seed (docs/WORKER.md):
/// - `passkey`: a 5-digit pass key hidden at a random depth in repeated filler (or in natural
///   text given by the caller), asked for at the end;
/// - `kvRetrieval`: a JSON object of random 8-hex-digit keys and values, one key asked for.
/// A sample is correct when the answer text contains the expected string.
public enum SyntheticTask: String, Sendable, CaseIterable {
    case passkey
    case kvRetrieval = "kv-retrieval"

    /// One generated sample.
    public struct Sample: Sendable, Hashable {
        /// The document (the long part).
        public var document: String
        /// The question asked after it.
        public var question: String
        /// What a correct answer contains.
        public var expected: String
        /// The text a base model continues after the question (completion layout; nil when the
        /// question already ends where the answer starts).
        public var answerPrefix: String?
        /// Depth of the needle in the document, 0…1.
        public var depth: Double
    }

    /// The sample `index` for about `tokens` document tokens. `countTokens` measures text;
    /// `naturalFiller`, when given, replaces the repeated filler sentences for `passkey`.
    public func sample(tokens target: Int, seed: UInt64, index: Int, naturalFiller: String? = nil,
                       countTokens: (String) -> Int) -> Sample {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(target))
        let depth = Double(rng.next() % 1000) / 1000
        switch self {
        case .passkey:
            let key = 10000 + Int(rng.next() % 90000)
            let needle = " The pass key is \(key). Remember it. \(key) is the pass key. "
            let intro = "There is important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n\n"
            let unit = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
            let filler = fill(target: target - countTokens(intro + needle), unit: unit, natural: naturalFiller, countTokens: countTokens)
            let cut = filler.index(filler.startIndex, offsetBy: Int(Double(filler.count) * depth))
            let at = filler[cut...].firstIndex(of: " ") ?? cut
            let doc = intro + filler[..<at] + needle + filler[at...]
            return Sample(document: String(doc), question: "What is the pass key? Answer with the number only.", expected: "\(key)",
                          answerPrefix: "The pass key is", depth: depth)
        case .kvRetrieval:
            var pairs: [(String, String)] = []
            let intro = "Extract the value corresponding to the specified key in the JSON object below.\n\nJSON data:\n{"
            var text = intro
            let perPair = countTokens("\"0123abcd\": \"4567ef01\", ")
            let count = max(2, (target - countTokens(intro)) / max(perPair, 1))
            for _ in 0..<count {
                let k = hex8(&rng), v = hex8(&rng)
                pairs.append((k, v))
            }
            text += pairs.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}"
            let chosen = pairs[min(pairs.count - 1, Int(depth * Double(pairs.count)))]
            return Sample(document: text, question: "Key: \"\(chosen.0)\"\nThe value associated with the specified key is:",
                          expected: chosen.1, answerPrefix: nil, depth: depth)
        }
    }

    private func fill(target: Int, unit: String, natural: String?, countTokens: (String) -> Int) -> String {
        let source = natural.flatMap { $0.isEmpty ? nil : $0 } ?? unit
        let perUnit = max(1, countTokens(source))
        var text = String(repeating: source, count: max(1, target / perUnit + 1))
        // Trim to the target by characters (proportionally), then to a word boundary.
        let tokens = countTokens(text)
        if tokens > target {
            let keep = Int(Double(text.count) * Double(target) / Double(tokens))
            text = String(text.prefix(keep))
            if let space = text.lastIndex(of: " ") { text = String(text[..<space]) + " " }
        }
        return text
    }

    private func hex8(_ rng: inout SplitMix64) -> String {
        let v = rng.next() & 0xFFFF_FFFF
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}

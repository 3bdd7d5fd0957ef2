import Foundation

/// Splits English prose into sentences, standing in for nltk's `sent_tokenize` (Punkt), which
/// RULER uses to place needles between the essays' sentences; Punkt's trained parameters are
/// not available here, so the rule is explicit (docs/EVALUATION.md §"Differences from RULER"):
///
/// a sentence ends after `.`, `!` or `?` (and any closing quotes or brackets right after it)
/// when whitespace follows and the next word starts with an upper-case letter, a digit, or an
/// opening quote or bracket — unless the word ending in `.` is a known abbreviation ("Mr.",
/// "e.g.", "U.S.", …) or a single letter (an initial).
///
/// Sentences are returned without the whitespace between them; joining them with one space
/// gives back text whose whitespace runs were single spaces.
public enum SentenceSplitter {
    /// Lower-cased abbreviations (without their final period) that do not end a sentence.
    static let abbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp",
        "u.s", "u.k", "a.m", "p.m", "no", "vol", "fig", "approx", "dept", "gen", "gov", "sen", "rep", "mt", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ph.d", "cf", "al",
    ]

    /// The sentences of `text`.
    public static func split(_ text: String) -> [String] {
        let chars = Array(text)
        var sentences: [String] = []
        var start = 0
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "." || c == "!" || c == "?" else { i += 1; continue }
            var end = i + 1
            while end < chars.count, "\"')]”’".contains(chars[end]) { end += 1 }
            guard end < chars.count, chars[end].isWhitespace else { i = end; continue }
            var next = end
            while next < chars.count, chars[next].isWhitespace { next += 1 }
            guard next < chars.count else { break }
            let n = chars[next]
            let opensSentence = n.isUppercase || n.isNumber || "\"'([“‘".contains(n)
            if opensSentence && !(c == "." && endsWithAbbreviation(chars, period: i)) {
                sentences.append(String(chars[start..<end]))
                start = next
            }
            i = next
        }
        let last = String(chars[start...]).trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { sentences.append(last) }
        return sentences
    }

    /// Whether the word ending at `chars[period]` (a period) is an abbreviation or an initial.
    static func endsWithAbbreviation(_ chars: [Character], period: Int) -> Bool {
        var s = period
        while s > 0, !chars[s - 1].isWhitespace { s -= 1 }
        var word = String(chars[s..<period]).lowercased()
        while let f = word.first, "\"'([“‘".contains(f) { word.removeFirst() }
        if word.count == 1, word.first!.isLetter { return true }
        return abbreviations.contains(word)
    }
}

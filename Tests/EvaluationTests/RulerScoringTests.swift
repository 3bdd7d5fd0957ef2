import Foundation
import Testing
@testable import Evaluation

/// Scoring against RULER's own metric functions (ruler_metrics.py, fetched with the data) on
/// hand-made answers.
@Suite struct RulerScoringTests {
    static let cases: [(prediction: String, references: [String])] = [
        (" 1234567.", ["1234567"]),
        ("The number is 7654321\n\nOne of the special", ["1234567"]),
        ("1234567, 2345678 and 3456789.", ["1234567", "2345678", "3456789", "4567890"]),
        ("  ABCDE FGHIJ klmno\u{1}PQRST", ["ABCDE", "FGHIJ", "KLMNO", "PQRST", "UVWXY"]),
        ("France", ["France", "france", "French Republic"]),
        ("Paris, the capital", ["Lyon", "Marseille"]),
        ("", ["x"]),
        ("1. apple 2. Bread 3. candle", ["apple", "bread", "CANDLE", "door"]),
    ]

    @Test("per-sample scores equal RULER's string_match_all / string_match_part")
    func equalsRulersMetrics() throws {
        let payload = try JSONSerialization.data(withJSONObject: Self.cases.map { [RulerScoring.postprocess($0.prediction), $0.references] as [Any] })
        let out = try RulerTestData.python("""
            import json, sys, ruler_metrics as m
            cases = json.loads(\(String(decoding: payload, as: UTF8.self).debugDescription))
            preds = [c[0] for c in cases]; refs = [c[1] for c in cases]
            print(json.dumps([m.string_match_all_per_sample(preds, refs), m.string_match_part_per_sample(preds, refs)]))
            """)
        let scores = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[Double]])
        for (i, c) in Self.cases.enumerated() {
            let hits = RulerScoring.hits(prediction: c.prediction, references: c.references)
            #expect(abs(RulerScoring.score(.all, hits: hits) * 100 - scores[0][i]) < 1e-9, "all, case \(i)")
            #expect(abs(RulerScoring.score(.part, hits: hits) * 100 - scores[1][i]) < 1e-9, "part, case \(i)")
        }
    }

    @Test("post-processing strips and turns control characters into line breaks, as RULER's postprocess_pred")
    func postprocess() {
        #expect(RulerScoring.postprocess("  a\u{1}b\tc \n") == "a\nb\nc")
        #expect(RulerScoring.postprocess("\u{0}\u{0}x") == "x")
        #expect(RulerScoring.hits(prediction: "ABC-def", references: ["abc-DEF", "abc def"]) == [true, false])
    }

    @Test("Wilson 95 % intervals: textbook values, inside [0, 1] at the extremes")
    func wilson() {
        let half = WilsonInterval(proportion: 0.5, count: 20)
        #expect(abs(half.lower - 0.2993) < 1e-4 && abs(half.upper - 0.7007) < 1e-4)
        let none = WilsonInterval(proportion: 0, count: 10)
        #expect(none.lower == 0 && abs(none.upper - 0.2775) < 1e-4)
        let all = WilsonInterval(proportion: 1, count: 5)
        #expect(abs(all.lower - 0.5655) < 1e-4 && all.upper == 1)
        let most = WilsonInterval(proportion: 17.0 / 20, count: 20)
        #expect(abs(most.lower - 0.6396) < 1e-4 && abs(most.upper - 0.9476) < 1e-4)
    }

    @Test("sentence split: ends at . ! ? before a capital, not after abbreviations or initials")
    func sentences() {
        let text = "I met Mr. Smith at 5 p.m. yesterday. He said \"Hi!\" Then he left. J. R. R. Tolkien wrote books? Yes. e.g. this one. The end"
        #expect(SentenceSplitter.split(text) == [
            "I met Mr. Smith at 5 p.m. yesterday.", "He said \"Hi!\"", "Then he left.", "J. R. R. Tolkien wrote books?", "Yes. e.g. this one.", "The end",
        ])
        #expect(SentenceSplitter.split(text).joined(separator: " ") == text)
    }
}

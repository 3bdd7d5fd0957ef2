import Foundation

/// RULER's scoring (`eval/synthetic/constants.py`, `eval/evaluate.py`): the prediction is stripped
/// and its control characters turned into line breaks, then each reference is looked for in it,
/// case-insensitively, as a substring.
public enum RulerScoring {
    /// How the references' hits make a score.
    public enum Rule: String, Sendable, Codable {
        /// `string_match_all`: the fraction of references found (niah, vt, cwe, fwe).
        case all
        /// `string_match_part`: 1 when any reference is found (qa).
        case part
    }

    /// RULER's `postprocess_pred`.
    public static func postprocess(_ prediction: String) -> String {
        let stripped = prediction.trimmingCharacters(in: .whitespacesAndNewlines)
        let scalars = stripped.unicodeScalars.map { $0.value < 0x20 ? "\n" : Character($0) }
        return String(scalars).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether each reference occurs in the (post-processed) prediction, ignoring case.
    public static func hits(prediction: String, references: [String]) -> [Bool] {
        let p = postprocess(prediction).lowercased()
        return references.map { p.contains($0.lowercased()) }
    }

    /// The sample's score in [0, 1] under `rule`.
    public static func score(_ rule: Rule, hits: [Bool]) -> Double {
        guard !hits.isEmpty else { return 0 }
        switch rule {
        case .all: return Double(hits.filter { $0 }.count) / Double(hits.count)
        case .part: return hits.contains(true) ? 1 : 0
        }
    }
}

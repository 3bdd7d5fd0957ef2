import CoreTypes
import Foundation

/// RULER's variable tracking (`variable_tracking.py`, one chain of four hops): "VAR ABCDE = 12345",
/// "VAR FGHIJ = VAR ABCDE ", … scattered through repeated filler lines; the question asks for
/// every variable that holds the value. A worked example (three-letter names, about 500 tokens)
/// comes first, as in RULER.
struct VariableTrackingTask: SampleBuilder {
    static let head = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
    static let question = "\nQuestion: Find all variables that are assigned the value {query} in the text above."
    static let answerPrefix = " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assgined the value {query}, they are: "
    static let noise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n"
    static let hops = 4
    /// RULER fits the worked example to 500 tokens with its 30 answer tokens.
    static let exampleLength = 500

    struct Chain {
        var names: [String]
        var lines: [String]
        var value: Int
        /// Each line's position as a fraction of the filler lines.
        var fractions: [Double]

        init(letters: Int, rng: inout SplitMix64) {
            var names: [String] = []
            while names.count < VariableTrackingTask.hops + 1 {
                let name = String((0..<letters).map { _ in Character(UnicodeScalar(UInt8(65 + rng.below(26)))) })
                if !names.contains(name) { names.append(name) }
            }
            self.names = names
            value = rng.int(10000...99998)
            lines = ["VAR \(names[0]) = \(value)"] + (1..<names.count).map { "VAR \(names[$0]) = VAR \(names[$0 - 1]) " }
            fractions = lines.map { _ in rng.nextUnit() }.sorted()
        }

        /// The template filled with `noises` filler lines; the depth of each variable's line.
        func prompt(noises n: Int) -> (RulerPrompt, [Double]) {
            var sentences = Array(repeating: VariableTrackingTask.noise, count: n)
            var depths: [Double] = []
            for (j, line) in lines.enumerated() {
                let position = min(n, Int(fractions[j] * Double(n)))
                sentences.insert(line, at: position + j)
                depths.append(Double(position) / Double(max(n, 1)))
            }
            let context = sentences.joined(separator: " ").replacingOccurrences(of: ". \n", with: ".\n")
            func fill(_ t: String) -> String {
                t.replacingOccurrences(of: "{query}", with: String(value)).replacingOccurrences(of: "{num_v}", with: String(names.count))
            }
            return (RulerPrompt(document: VariableTrackingTask.head + context, question: fill(VariableTrackingTask.question),
                                answerPrefix: fill(VariableTrackingTask.answerPrefix)), depths)
        }
    }

    let chain: Chain
    /// The worked example as RULER puts it before the task: a space, the example's prompt, its
    /// answer, and blank lines.
    let example: String

    init(rng: inout SplitMix64, measure: (RulerPrompt) -> Int) throws(RulerError) {
        let icl = Chain(letters: 3, rng: &rng)
        chain = Chain(letters: 5, rng: &rng)
        // The example's noise count: the largest that fits in 500 tokens with 30 answer tokens.
        struct Example: SampleBuilder {
            let chain: Chain
            var units: ClosedRange<Int> { 1...1000 }
            func assemble(units: Int) -> AssembledSample {
                let (p, _) = chain.prompt(noises: units)
                return AssembledSample(prompt: RulerPrompt(document: p.text + " " + chain.names.joined(separator: " "), question: "", answerPrefix: ""),
                                       references: [], referenceDepths: [])
            }
        }
        let fitted = try RulerGenerator.fit(Example(chain: icl), budget: Self.exampleLength - RulerTask.vt.tokensToGenerate,
                                            measure: measure, task: .vt, length: Self.exampleLength)
        example = " " + Example(chain: icl).assemble(units: fitted.units).prompt.document + "\n\n" + "\n\n"
    }

    var units: ClosedRange<Int> { 1...10_000_000 }

    func assemble(units n: Int) -> AssembledSample {
        var (prompt, depths) = chain.prompt(noises: n)
        prompt.document = example + prompt.document
        return AssembledSample(prompt: prompt, references: chain.names, referenceDepths: depths)
    }
}

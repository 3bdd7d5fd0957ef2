import CoreTypes
import Foundation
import Testing
import Worker
@testable import Evaluation

/// The generator: RULER's templates, deterministic samples, sizes in the model's tokens.
@Suite struct RulerGeneratorTests {
    func sample(_ task: RulerTask, length: Int = 4096, seed: UInt64 = 7, index: Int = 0) throws -> RulerSample {
        try RulerGenerator(data: RulerTestData.data()).sample(task: task, length: length, seed: seed, index: index, measure: RulerTestData.wordMeasure)
    }

    @Test("the template strings equal RULER's constants.py (template + answer prefix, split at the context)")
    func templatesEqualRulers() throws {
        let json = try RulerTestData.python("""
            import json, ruler_templates as r
            print(json.dumps({k: [v['template'], v['answer_prefix'], v['tokens_to_generate']] for k, v in r.TASKS.items()}))
            """)
        let tasks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [Any]])
        let ours: [String: (String, String, String)] = [
            "niah": (NeedleTask.head, NeedleTask.question, NeedleTask.answerPrefix),
            "variable_tracking": (VariableTrackingTask.head, VariableTrackingTask.question, VariableTrackingTask.answerPrefix),
            "common_words_extraction": (CommonWordsTask.head, CommonWordsTask.question, CommonWordsTask.answerPrefix),
            "freq_words_extraction": (FrequentWordsTask.head, FrequentWordsTask.question, FrequentWordsTask.answerPrefix),
            "qa": (DocumentQATask.head, DocumentQATask.question, DocumentQATask.answerPrefix),
        ]
        #expect(Set(tasks.keys) == Set(ours.keys))
        for (family, parts) in ours {
            let theirs = try #require(tasks[family])
            #expect(parts.0 + "{context}" + parts.1 == theirs[0] as? String, "\(family) template")
            #expect(parts.2 == theirs[1] as? String, "\(family) answer prefix")
            let task = try #require(RulerTask.allCases.first { $0.family.rawValue == family })
            #expect(task.tokensToGenerate == (theirs[2] as? Int), "\(family) tokens to generate")
        }
    }

    @Test("a sample depends only on (seed, task, length, index): equal when repeated, different otherwise")
    func deterministicBySeed() throws {
        for task in RulerTask.allCases {
            let a = try sample(task), b = try sample(task)
            #expect(a == b, "\(task)")
            #expect(try sample(task, seed: 8).prompt != a.prompt, "\(task) seed")
            #expect(try sample(task, index: 1).prompt != a.prompt, "\(task) index")
        }
    }

    @Test("niah_single_2: RULER's singular template, the needle in the essay, the 7-digit value as the reference")
    func singleNeedleInEssay() throws {
        let s = try sample(.niahSingle2)
        #expect(s.prompt.document.hasPrefix("A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you about the number afterwards.\n"))
        let key = try #require(s.prompt.question.firstMatch(of: /for (\S+) mentioned/)?.1)
        #expect(s.prompt.question == "\nWhat is the special magic number for \(key) mentioned in the provided text?")
        #expect(s.prompt.answerPrefix == " The special magic number for \(key) mentioned in the provided text is")
        #expect(s.references.count == 1 && s.references[0].count == 7 && Int(s.references[0]) != nil)
        #expect(s.prompt.document.contains("One of the special magic numbers for \(key) is: \(s.references[0])."))
        #expect(s.prompt.document.contains("The way to get startup ideas") || s.prompt.document.count > 10000)
        let depth = try #require(s.referenceDepths[0])
        #expect((0...1).contains(depth))
        // The needle sits where its depth says, within a sentence or two.
        let at = try #require(s.prompt.document.range(of: "One of the special magic numbers"))
        let fraction = Double(s.prompt.document.distance(from: s.prompt.document.startIndex, to: at.lowerBound)) / Double(s.prompt.document.count)
        #expect(abs(fraction - depth) < 0.05, "needle at \(fraction), depth \(depth)")
    }

    @Test("niah_multivalue, niah_multiquery and niah_multikey_1: plural template, four needles, the right references")
    func multipleNeedles() throws {
        let mv = try sample(.niahMultivalue)
        #expect(mv.prompt.document.hasPrefix("Some special magic numbers are hidden within the following text."))
        let key = try #require(mv.prompt.question.firstMatch(of: /for (\S+) mentioned/)?.1)
        #expect(mv.prompt.question == "\nWhat are all the special magic numbers for \(key) mentioned in the provided text?")
        #expect(mv.prompt.answerPrefix == " The special magic numbers for \(key) mentioned in the provided text are")
        #expect(mv.references.count == 4)
        for v in mv.references { #expect(mv.prompt.document.contains("One of the special magic numbers for \(key) is: \(v).")) }

        let mq = try sample(.niahMultiquery)
        let query = try #require(mq.prompt.question.firstMatch(of: /numbers for (.+) mentioned/)?.1)
        let keys = query.replacing(", and ", with: ", ").split(separator: ", ").map(String.init)
        #expect(keys.count == 4 && query.contains(", and "))
        #expect(mq.references.count == 4)
        for (k, v) in zip(keys, mq.references) { #expect(mq.prompt.document.contains("One of the special magic numbers for \(k) is: \(v).")) }

        let mk = try sample(.niahMultikey1)
        #expect(mk.references.count == 1)
        #expect(mk.prompt.document.matches(of: /One of the special magic numbers for \S+ is: \d{7}\./).count == 4)
    }

    @Test("niah_single_1 hides the needle in repeated lines; niah_multikey_2/3 among needle lines of the same form")
    func lineHaystacks() throws {
        let repeated = try sample(.niahSingle1)
        let lines = repeated.prompt.document.split(separator: "\n").dropFirst()
        #expect(lines.filter { $0 == NeedleTask.repeatedFiller }.count == lines.count - 1)
        for task in [RulerTask.niahMultikey2, .niahMultikey3] {
            let s = try sample(task)
            let needles = s.prompt.document.split(separator: "\n").dropFirst()
            #expect(needles.count > 20 && needles.allSatisfy { $0.hasPrefix("One of the special magic ") })
            let key = try #require(s.prompt.question.firstMatch(of: /for (\S+) mentioned/)?.1)
            #expect(needles.filter { $0.contains(" for \(key) is: ") }.count == 1, "\(task)")
            if task == .niahMultikey3 {
                #expect(s.references[0].wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
            }
        }
    }

    @Test("vt: a worked example, then a four-hop chain whose five variables are the references")
    func variableTracking() throws {
        let s = try sample(.vt)
        #expect(s.prompt.document.hasPrefix(" Memorize and track the chain(s) of variable assignment"))
        #expect(s.prompt.document.components(separatedBy: "Memorize and track").count == 3)  // example + task
        #expect(s.references.count == 5 && s.references.allSatisfy { $0.count == 5 })
        let value = try #require(s.prompt.document.firstMatch(of: /VAR [A-Z]{5} = (\d{5})/)?.1)
        #expect(s.prompt.question == "\nQuestion: Find all variables that are assigned the value \(value) in the text above.")
        #expect(s.prompt.answerPrefix == " Answer: According to the chain(s) of variable assignment in the text above, 5 variables are assgined the value \(value), they are: ")
        for (a, b) in zip(s.references, s.references.dropFirst()) { #expect(s.prompt.document.contains("VAR \(b) = VAR \(a) ")) }
    }

    @Test("cwe: the ten references appear 30 times in the list, every other word 3 times")
    func commonWords() throws {
        let s = try sample(.cwe, length: 8192)
        let task = s.prompt.document.components(separatedBy: CommonWordsTask.head).last!
        var counts: [String: Int] = [:]
        for m in task.matches(of: /\d+\. (\S+)/) { counts[String(m.1), default: 0] += 1 }
        #expect(s.references.count == 10)
        for r in s.references { #expect(counts[r] == 30, "\(r)") }
        #expect(counts.filter { !s.references.contains($0.key) }.allSatisfy { $0.value == 3 })
    }

    @Test("fwe: '...' is the most frequent coded word and the references are the next three")
    func frequentWords() throws {
        let s = try sample(.fwe, length: 8192)
        let context = s.prompt.document.dropFirst(FrequentWordsTask.head.count)
        var counts: [Substring: Int] = [:]
        for w in context.split(separator: " ") { counts[w, default: 0] += 1 }
        let ranked = counts.sorted { $0.value > $1.value }.map { String($0.key) }
        #expect(ranked.first == "...")
        #expect(Array(ranked[1...3]) == s.references)
    }

    @Test("qa_1/qa_2: numbered documents holding the gold one, the question, RULER's answer prefix")
    func questionAnswering() throws {
        for task in [RulerTask.qa1, .qa2] {
            let s = try sample(task)
            #expect(s.prompt.document.hasPrefix(DocumentQATask.head + "Document 1:\n"))
            #expect(s.prompt.question.hasPrefix("\n\nAnswer the question based on the given documents."))
            #expect(s.prompt.answerPrefix == " Answer:")
            let n = s.prompt.document.matches(of: /Document (\d+):\n/).count
            #expect(n == s.haystackUnits && n > 5, "\(task)")
            #expect(s.references.contains { s.prompt.document.contains($0) } || task == .qa2, "\(task): a gold answer is in the documents")
        }
    }

    @Test("sizes: the prompt plus the answer tokens fit the length, and one more unit would not (Gemma 3's tokens)")
    func fitsInTheModelsTokens() throws {
        let tokenizer = try RulerTestData.tokenizer()
        let generator = RulerGenerator(data: try RulerTestData.data())
        let measure: (RulerPrompt) -> Int = {
            PromptLayout(completionDocument: $0.document, question: $0.question, answerPrefix: $0.answerPrefix, tokenizer: tokenizer).tokens.count
        }
        for task in RulerTask.allCases {
            let s = try generator.sample(task: task, length: 4096, seed: 3, index: 0, measure: measure)
            let budget = 4096 - task.tokensToGenerate
            #expect(s.promptTokens == measure(s.prompt) && s.promptTokens <= budget, "\(task): \(s.promptTokens) > \(budget)")
            #expect(s.promptTokens > budget - 400, "\(task): \(s.promptTokens) is far below \(budget)")
        }
        // Maximality, on the fit itself.
        var rng = CoreTypes.SplitMix64(seed: 5)
        let builder = NeedleTask(configuration: RulerTask.niahSingle2.needles!, data: try RulerTestData.data(), rng: &rng)
        let (units, tokens) = try RulerGenerator.fit(builder, budget: 2000, measure: measure, task: .niahSingle2, length: 2128)
        #expect(tokens <= 2000 && measure(builder.assemble(units: units + 1).prompt) > 2000)
    }

    @Test("a length too short for the task is a typed error")
    func tooShort() throws {
        #expect(throws: RulerError.self) { try sample(.vt, length: 100) }
        do { _ = try sample(.niahSingle2, length: 150); Issue.record("150 tokens were accepted") } catch let e as RulerError { #expect(e.code == 4) }
    }
}

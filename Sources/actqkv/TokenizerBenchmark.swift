import CoreTypes
import LanguageModel

/// Measures the tokenizer on a real model file: building it from GGUF metadata, encoding a
/// long input (default ≥ 32 768 tokens) with the default strategy, without its word cache, and
/// with two baselines (priority-queue BPE on every word; the textbook O(n²) merge loop), and
/// decoding, for `actqkv bench tokenizer`; every time is the median of `repetitions` runs, in
/// milliseconds. A SentencePiece vocabulary (Gemma 3) has one way of encoding: only it and
/// decoding are timed.
enum TokenizerBenchmark {
    /// Encoding timings of one input text.
    struct Input: Sendable {
        /// What the text is.
        var name: String
        /// UTF-8 bytes of the text.
        var bytes: Int
        /// Tokens the text encodes to.
        var tokens: Int
        /// What `encode` does (array-scan BPE for short words, priority queue for long ones,
        /// per-call cache of long words), ms.
        var cachedMilliseconds: Double
        /// The same BPE on every word, no cache, ms; `nil` for SentencePiece.
        var uncachedMilliseconds: Double?
        /// Baseline: priority-queue BPE on every word, no cache, ms; `nil` for SentencePiece.
        var queueMilliseconds: Double?
        /// Baseline: textbook merge loop on every word, no cache, ms; `nil` when skipped (a word
        /// too long for the quadratic loop, or SentencePiece).
        var referenceMilliseconds: Double?
        /// `decode` of the ids back to a `String`, ms.
        var decodeMilliseconds: Double
    }

    /// Results of ``run(modelPath:corpus:targetTokens:repetitions:)``.
    struct Report: Sendable, CustomStringConvertible {
        /// The vocabulary's tokenizer model and size.
        var model: String
        /// Opening the GGUF file (mmap + metadata parse), ms.
        var openMilliseconds: Double
        /// Building the tokenizer from the parsed metadata (validation, tables), ms.
        var buildMilliseconds: Double
        /// The process's first `encode` (of `corpus`, once), which also builds the 64 K-entry
        /// character-class table, ms.
        var firstEncodeMilliseconds: Double
        /// One entry per input text.
        var inputs: [Input]

        var description: String {
            var lines = [
                "tokenizer: \(model)",
                "open GGUF: \(TokenizerBenchmark.format(openMilliseconds)) ms",
                "build tokenizer from metadata: \(TokenizerBenchmark.format(buildMilliseconds)) ms",
                "first encode in the process (incl. character table): \(TokenizerBenchmark.format(firstEncodeMilliseconds)) ms",
            ]
            for input in inputs {
                let rate = Double(input.tokens) / input.cachedMilliseconds / 1000
                lines.append("\(input.name): \(input.bytes) bytes, \(input.tokens) tokens")
                lines.append("  encode (default):                \(TokenizerBenchmark.format(input.cachedMilliseconds)) ms (\(TokenizerBenchmark.format(rate)) M tokens/s)")
                if let uncached = input.uncachedMilliseconds, let queue = input.queueMilliseconds {
                    lines.append("  encode (default, no cache):      \(TokenizerBenchmark.format(uncached)) ms")
                    lines.append("  encode (queue only, no cache):   \(TokenizerBenchmark.format(queue)) ms")
                    lines.append("  encode (textbook loop, no cache): " + (input.referenceMilliseconds.map { "\(TokenizerBenchmark.format($0)) ms" } ?? "skipped (quadratic)"))
                }
                lines.append("  decode:                          \(TokenizerBenchmark.format(input.decodeMilliseconds)) ms")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs the benchmark.
    ///
    /// - Parameters:
    ///   - modelPath: a GGUF model with a `gpt2` or `llama` tokenizer.
    ///   - corpus: natural text, repeated until it encodes to at least `targetTokens` tokens
    ///     (the "prose" input). A second input is made of `targetTokens` random normal tokens
    ///     (few repeated words, the cache's worst case), a third is a single word of
    ///     `targetTokens` random ASCII letters (the priority queue's case).
    ///   - targetTokens: input size in tokens. Default 32 768.
    ///   - repetitions: runs per measurement (median reported). Default 7.
    static func run(
        modelPath: String, corpus: String, targetTokens: Int = 32_768, repetitions: Int = 7
    ) throws -> Report {
        var file: GGUFFile?
        let open = try median(repetitions) { () throws -> Void in file = try GGUFFile(path: modelPath) }
        let metadata = file!.metadata
        var built: Tokenizer?
        let build = try median(repetitions) { () throws -> Void in
            built = try Tokenizer(vocabulary: TokenizerVocabulary(metadata: metadata))
        }
        let tokenizer = built!

        var perCopy = 1
        let firstEncode = try median(1) { perCopy = max(1, tokenizer.encode(corpus).count) }
        var prose = corpus
        if !corpus.isEmpty {
            prose = String(repeating: corpus, count: (targetTokens + perCopy - 1) / perCopy)
        }

        var generator = SplitMix64(seed: 0x5EED_70C)
        var randomIDs: [Int32] = []
        randomIDs.reserveCapacity(targetTokens)
        while randomIDs.count < targetTokens {
            let id = Int32(truncatingIfNeeded: generator.next() % UInt64(tokenizer.tokenCount))
            if tokenizer.type(of: id) == .normal { randomIDs.append(id) }
        }
        let random = try tokenizer.decode(randomIDs)

        var letters = String.UnicodeScalarView()
        for _ in 0..<targetTokens {
            letters.append(Unicode.Scalar(UInt8(97 + generator.next() % 26)))
        }
        let longWord = String(letters)

        var inputs: [Input] = []
        for (name, text) in [("prose (corpus repeated)", prose), ("random normal tokens", random),
                             ("one word of random letters", longWord)] {
            var ids: [Int32] = []
            let cached = try median(repetitions) { ids = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .cached) }
            var check: [Int32] = []
            var uncached: Double?, queue: Double?, reference: Double?
            if tokenizer.model == .bytePairEncoding {
                uncached = try median(repetitions) { check = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncached) }
                precondition(check == ids, "strategies disagree")
                queue = try median(repetitions) { check = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedQueue) }
                precondition(check == ids, "strategies disagree")
            }
            if tokenizer.model == .bytePairEncoding && text != longWord {
                reference = try median(max(1, repetitions / 2)) { check = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedReference) }
                precondition(check == ids, "strategies disagree")
            }
            var decoded = ""
            let decode = try median(repetitions) { decoded = try tokenizer.decode(ids) }
            precondition(!decoded.isEmpty || text.isEmpty)
            inputs.append(Input(name: name, bytes: text.utf8.count, tokens: ids.count, cachedMilliseconds: cached,
                                uncachedMilliseconds: uncached, queueMilliseconds: queue, referenceMilliseconds: reference, decodeMilliseconds: decode))
        }
        return Report(model: "\(tokenizer.model.rawValue), \(tokenizer.tokenCount) tokens", openMilliseconds: open, buildMilliseconds: build, firstEncodeMilliseconds: firstEncode, inputs: inputs)
    }

    static func median(_ repetitions: Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<max(1, repetitions) {
            let start = clock.now
            try body()
            let elapsed = clock.now - start
            times.append(elapsed.milliseconds)
        }
        times.sort()
        return times[times.count / 2]
    }

    static func format(_ value: Double) -> String {
        "\((value * 1000).rounded() / 1000)"
    }
}

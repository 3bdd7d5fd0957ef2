import Foundation
import Testing
@testable import Inference

/// The real SmolLM2 tokenizer (read from the model's GGUF metadata) against llama.cpp's output
/// in /work/shared/fixtures/llamacpp-smollm2 (special tokens parsed, no BOS).
@Suite struct TokenizerFixtureTests {
    /// The model's tokenizer, built once per process.
    static let loaded: Result<Tokenizer, any Error> = Result {
        let path = TokenizerTestSupport.modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelMissing(path: path)
        }
        return try Tokenizer(gguf: try GGUFFile(path: path))
    }

    struct ModelMissing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "model file not found at \(path): set ACTQKV_MODEL or run scripts/fetch-model.sh"
        }
    }

    var tokenizer: Tokenizer { get throws { try Self.loaded.get() } }

    static let caseIndices = Array(0..<((try? TokenizerTestSupport.loadTokenizerFixture().cases.count) ?? 1))

    @Test func fixtureSettingsAreTheOnesTested() throws {
        let fixture = try TokenizerTestSupport.loadTokenizerFixture()
        #expect(fixture.add_bos == false)
        #expect(fixture.special_tokens_parsed == true)
        #expect(fixture.cases.count >= 10)
    }

    @Test(arguments: caseIndices)
    func encodesLikeLlamaCppAndDecodesBack(index: Int) throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadTokenizerFixture().cases[index]
        let ids = tokenizer.encode(fixture.text)
        #expect(ids == fixture.ids, "case \(index): \(fixture.text.debugDescription)")
        #expect(try tokenizer.decode(fixture.ids) == fixture.text)
    }

    @Test(arguments: ["short", "medium", "long"])
    func logitsFixturePromptsEncodeToTheirIds(name: String) throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadLogitsFixture(name)
        #expect(tokenizer.encode(fixture.text) == fixture.ids)
        #expect(try tokenizer.decode(fixture.ids) == fixture.text)
    }

    /// `--chat` semantics end to end: the user text, rendered with the model's own template and
    /// encoded, gives exactly the ids llama.cpp was run on.
    @Test(arguments: ["short", "medium", "long"])
    func chatRenderedUserTextEncodesToTheFixtureIds(name: String) throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadLogitsFixture(name)
        let template = try tokenizer.chatTemplate()
        #expect(template == .smolLM2)
        let prefix = template.render([.user("")], addGenerationPrompt: true)
        let userEnd = "<|im_end|>\n<|im_start|>assistant\n"
        let userStart = String(prefix.dropLast(userEnd.count))
        try #require(fixture.text.hasPrefix(userStart) && fixture.text.hasSuffix(userEnd))
        let user = String(fixture.text.dropFirst(userStart.count).dropLast(userEnd.count))
        #expect(tokenizer.encode(template.renderPrompt(user: user)) == fixture.ids)
    }

    /// The pre-tokenizer checked against llama.cpp's real output: every word boundary the
    /// `smollm` split puts into a fixture text is also a boundary between two of llama.cpp's
    /// tokens (BPE never merges across words).
    @Test func wordBoundariesAreTokenBoundariesInLlamaCppOutput() throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadTokenizerFixture()
        var checkedBoundaries = 0
        for item in fixture.cases where !item.text.contains("<|") {
            var tokenBoundaries: Set<Int> = [0]
            var offset = 0
            for id in item.ids {
                offset += try tokenizer.bytes(of: id).count
                tokenBoundaries.insert(offset)
            }
            var wordOffset = 0
            for word in PreTokenizer.smolLM.split(item.text) {
                wordOffset += word.utf8.count
                #expect(tokenBoundaries.contains(wordOffset), "\(item.text.debugDescription): word \(word.debugDescription)")
                checkedBoundaries += 1
            }
        }
        #expect(checkedBoundaries > 300)
    }

    /// The priority-queue BPE (with and without the word cache) gives exactly what the textbook
    /// merge loop gives, on text made of random tokens (long, unusual words) and on the fixtures.
    @Test func queueBPEEqualsTheTextbookMergeLoop() throws {
        let tokenizer = try tokenizer
        var generator = TokenizerBenchmark.SplitMix64(seed: 42)
        var ids: [Int32] = []
        while ids.count < 4000 {
            let id = Int32(truncatingIfNeeded: generator.next() % UInt64(tokenizer.tokenCount))
            ids.append(id)
        }
        var texts = [try tokenizer.decode(ids)]
        texts += try TokenizerTestSupport.loadTokenizerFixture().cases.map(\.text)
        for text in texts {
            let cached = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .cachedQueue)
            let uncached = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedQueue)
            let reference = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedReference)
            #expect(cached == reference)
            #expect(uncached == reference)
            #expect(try tokenizer.decode(cached) == text)
        }
    }

    @Test func specialTokensAndIdsOfTheModel() throws {
        let tokenizer = try tokenizer
        #expect(tokenizer.tokenCount == 49_152)
        #expect(tokenizer.preTokenizer == .smolLM)
        #expect(tokenizer.bos == 1)
        #expect(tokenizer.eos == 2)
        #expect(tokenizer.addBOSByDefault == false)
        #expect(tokenizer.endOfGeneration == [0, 2])
        #expect(tokenizer.text(of: 1) == "<|im_start|>")
        #expect(tokenizer.type(of: 1) == .control)
        #expect(tokenizer.encode("<|im_start|>user") == [1, 4093])
        // Not parsed: the marker is ordinary text, several tokens, and decodes back to itself.
        let plain = tokenizer.encode("<|im_start|>", parseSpecial: false)
        #expect(plain.count > 1 && !plain.contains(1))
        #expect(try tokenizer.decode(plain) == "<|im_start|>")
        #expect(try tokenizer.decode([1, 4093, 2], renderSpecial: false) == "user")
    }

    @Test func streamingDecodeOfAFixtureEqualsTheText() throws {
        let tokenizer = try tokenizer
        let item = try TokenizerTestSupport.loadTokenizerFixture().cases
            .first { $0.text.hasPrefix("Unicode") }
        let unicode = try #require(item)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var text = ""
        var sawHeldBack = false
        for id in unicode.ids {
            let piece = try decoder.append(id)
            if piece.isEmpty { sawHeldBack = true }
            #expect(!piece.contains("\u{FFFD}"))
            text += piece
        }
        text += decoder.finish()
        #expect(text == unicode.text)
        #expect(sawHeldBack, "the emoji are split across tokens, so some bytes must be held back")
    }
}

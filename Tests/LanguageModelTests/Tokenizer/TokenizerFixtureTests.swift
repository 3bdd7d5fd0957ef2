import CoreTypes
import Foundation
import Testing
@testable import LanguageModel

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

    /// The default BPE (array scan for short words, queue for long ones; with and without the
    /// word cache) and the queue alone give exactly what the textbook merge loop gives, on text made of random tokens (long, unusual words) and on the fixtures.
    @Test func queueBPEEqualsTheTextbookMergeLoop() throws {
        let tokenizer = try tokenizer
        var generator = SplitMix64(seed: 42)
        var ids: [Int32] = []
        while ids.count < 4000 {
            let id = Int32(truncatingIfNeeded: generator.next() % UInt64(tokenizer.tokenCount))
            ids.append(id)
        }
        var texts = [try tokenizer.decode(ids)]
        texts += try TokenizerTestSupport.loadTokenizerFixture().cases.map(\.text)
        for text in texts {
            let cached = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .cached)
            let uncached = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncached)
            let queue = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedQueue)
            let reference = tokenizer.encode(text, parseSpecial: true, addBOS: false, strategy: .uncachedReference)
            #expect(cached == reference)
            #expect(uncached == reference)
            #expect(queue == reference)
            #expect(try tokenizer.decode(cached) == text)
        }
    }

    /// Any text round-trips through encode and decode — random scalars from every plane,
    /// including marks, unassigned and private-use code points, and long white-space runs —
    /// except bytes SmolLM2 has no token for, which are dropped as llama.cpp drops them: six
    /// control characters, and the UTF-8 lead bytes 0xF1/0xF2 of U+40000…U+BFFFF (planes 4–11,
    /// all unassigned).
    @Test func randomUnicodeRoundTrips() throws {
        let tokenizer = try tokenizer
        var generator = SplitMix64(seed: 7)
        let droppedBytes: Set<UInt32> = [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D]
        for _ in 0..<50 {
            var scalars = String.UnicodeScalarView()
            let length = Int(generator.next() % 400)
            while scalars.count < length {
                let r = generator.next()
                let value: UInt32 = switch r % 6 {
                case 0: UInt32(r >> 8 % 0x80)                   // ASCII, incl. controls
                case 1: UInt32(0x80 + (r >> 8) % 0x780)        // 2-byte range
                case 2: UInt32(0x800 + (r >> 8) % 0xF800)      // BMP
                case 3: UInt32(0x10000 + (r >> 8) % 0x100000)  // supplementary planes
                case 4: [0x20, 0x0A, 0x09, 0xA0, 0x3000, 0x2029][Int((r >> 8) % 6)]
                default: UInt32(0x30 + (r >> 8) % 10)           // digits
                }
                guard let scalar = Unicode.Scalar(value), !droppedBytes.contains(value),
                      !(0x40000...0xBFFFF).contains(value) else { continue }
                scalars.append(scalar)
            }
            let text = String(scalars)
            let ids = tokenizer.encode(text, parseSpecial: false)
            let back = try tokenizer.decode(ids)
            #expect(back == text)
        }
        #expect(try tokenizer.decode(tokenizer.encode("a\u{4}b\u{1D}c")) == "abc")
        // U+50000 is F1 90 80 80: the lead byte is dropped, the three continuation bytes stay.
        let plane5 = tokenizer.encode("\u{50000}")
        #expect(plane5.count == 3)
        #expect(try tokenizer.decodeBytes(plane5) == [0x90, 0x80, 0x80])
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

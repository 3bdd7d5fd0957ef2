import CoreTypes
import Foundation
import Testing
@testable import LanguageModel

/// The real Gemma 3 tokenizer (SentencePiece style, read from the model's GGUF metadata) against
/// llama.cpp's output in /work/shared/fixtures/llamacpp-gemma3 (special tokens parsed, no BOS).
@Suite struct GemmaTokenizerFixtureTests {
    /// The model's tokenizer, built once per process.
    static let loaded: Result<Tokenizer, any Error> = Result {
        let path = TokenizerTestSupport.gemmaModelPath
        guard FileManager.default.fileExists(atPath: path) else { throw ModelMissing(path: path) }
        return try Tokenizer(gguf: try GGUFFile(path: path))
    }

    struct ModelMissing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "Gemma 3 model file not found at \(path): set ACTQKV_GEMMA_MODEL or run scripts/fetch-model.sh gemma3-270m"
        }
    }

    var tokenizer: Tokenizer { get throws { try Self.loaded.get() } }

    static func fixture() throws -> TokenizerTestSupport.TokenizerFixture {
        try TokenizerTestSupport.loadTokenizerFixture(TokenizerTestSupport.gemmaFixtureDirectory)
    }

    static let caseIndices = Array(0..<((try? fixture().cases.count) ?? 1))

    @Test func fixtureSettingsAreTheOnesTested() throws {
        let fixture = try Self.fixture()
        #expect(fixture.add_bos == false)
        #expect(fixture.special_tokens_parsed == true)
        #expect(fixture.cases.count >= 10)
    }

    @Test(arguments: caseIndices)
    func encodesLikeLlamaCppAndDecodesBack(index: Int) throws {
        let tokenizer = try tokenizer
        let fixture = try Self.fixture().cases[index]
        #expect(tokenizer.encode(fixture.text) == fixture.ids, "case \(index): \(fixture.text.debugDescription)")
        #expect(try tokenizer.decode(fixture.ids) == fixture.text)
        #expect(try tokenizer.decode(tokenizer.encode(fixture.text)) == fixture.text)
    }

    /// The logits fixtures' prompts, with the BOS the model adds by default.
    @Test(arguments: ["short", "medium", "long", "window"])
    func logitsFixturePromptsEncodeToTheirIds(name: String) throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadLogitsFixture(name, TokenizerTestSupport.gemmaFixtureDirectory)
        #expect(tokenizer.encode(fixture.text, addBOS: tokenizer.addBOSByDefault) == fixture.ids)
        #expect(try tokenizer.decode(fixture.ids.dropFirst()) == fixture.text)
    }

    @Test func vocabularyFactsOfTheModel() throws {
        let tokenizer = try tokenizer
        #expect(tokenizer.model == .sentencePiece)
        #expect(tokenizer.tokenCount == 262_144)
        #expect(tokenizer.preTokenizer == .default)
        #expect(tokenizer.bos == 2 && tokenizer.eos == 1 && tokenizer.unknown == 3 && tokenizer.padding == 0)
        #expect(tokenizer.addBOSByDefault && !tokenizer.addSpacePrefix)
        #expect(tokenizer.chatTemplateText == nil)
        // <eos>, and <end_of_turn> by its text, as llama.cpp's end-of-generation set.
        #expect(tokenizer.endOfGeneration == [1, 106])
        #expect(tokenizer.text(of: 236743) == "▁" && tokenizer.type(of: 238) == .byte)
        #expect(tokenizer.id(ofText: "<start_of_turn>") == 105)
    }

    /// User-defined tokens (runs of spaces, tabs and newlines, HTML tags) are matched in the text
    /// before merging, even with `parseSpecial: false`; control tokens only with it.
    @Test func userDefinedAndControlTokens() throws {
        let tokenizer = try tokenizer
        #expect(tokenizer.type(of: 138) == .userDefined && tokenizer.text(of: 138) == "  ")
        #expect(tokenizer.encode("a  b", parseSpecial: false).contains(138))
        #expect(tokenizer.encode("<table>x", parseSpecial: false).first == 168)
        let plain = tokenizer.encode("<start_of_turn>", parseSpecial: false)
        #expect(!plain.contains(105))
        #expect(try tokenizer.decode(plain) == "<start_of_turn>")
        #expect(tokenizer.encode("<start_of_turn>user") == [105, 2364])
        #expect(try tokenizer.decode([2, 105, 2364, 106], renderSpecial: false) == "user")
    }

    /// Characters without a token fall back to their UTF-8 bytes as `<0xXX>` tokens, which decode
    /// back to the character, in one piece and streamed.
    @Test func byteFallbackRoundTrips() throws {
        let tokenizer = try tokenizer
        var generator = SplitMix64(seed: 11)
        var sawByteToken = false
        for _ in 0..<40 {
            var scalars = String.UnicodeScalarView()
            let length = Int(generator.next() % 200)
            while scalars.count < length {
                let r = generator.next()
                let value: UInt32 = switch r % 5 {
                case 0: UInt32(0x20 + (r >> 8) % 0x5F)          // printable ASCII
                case 1: UInt32((r >> 8) % 0x80)                  // ASCII, incl. controls
                case 2: UInt32(0x80 + (r >> 8) % 0xF780)         // BMP
                case 3: UInt32(0x10000 + (r >> 8) % 0x100000)    // supplementary planes
                default: [0x20, 0x0A, 0x09, 0xA0, 0x3000][Int((r >> 8) % 5)]
                }
                guard let scalar = Unicode.Scalar(value) else { continue }
                scalars.append(scalar)
            }
            let text = String(scalars)
            let ids = tokenizer.encode(text, parseSpecial: false)
            sawByteToken = sawByteToken || ids.contains { tokenizer.type(of: $0) == .byte }
            #expect(try tokenizer.decode(ids) == text)
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            var streamed = ""
            for id in ids {
                let piece = try decoder.append(id)
                #expect(!piece.contains("\u{FFFD}"))
                streamed += piece
            }
            streamed += decoder.finish()
            #expect(streamed == text)
        }
        #expect(sawByteToken)
        // U+50000 (unassigned, plane 5) has no token: its four bytes are byte tokens.
        let ids = tokenizer.encode("\u{50000}")
        #expect(ids == [0xF1, 0x90, 0x80, 0x80].map { Int32(238 + $0) })
    }

    @Test func streamingDecodeOfTheUnicodeFixtureEqualsTheText() throws {
        let tokenizer = try tokenizer
        let item = try #require(try Self.fixture().cases.first { $0.text.hasPrefix("Unicode") })
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var text = ""
        for id in item.ids {
            let piece = try decoder.append(id)
            #expect(!piece.contains("\u{FFFD}"))
            text += piece
        }
        text += decoder.finish()
        #expect(text == item.text)
    }

    /// The SentencePiece merge of a long text takes well under a second (it is one sequence: no
    /// pre-tokenizer splits it), and gives the same ids when cut at a special token.
    @Test func longTextEncodesQuickly() throws {
        let tokenizer = try tokenizer
        let fixture = try TokenizerTestSupport.loadLogitsFixture("window", TokenizerTestSupport.gemmaFixtureDirectory)
        let text = String(repeating: fixture.text + "\n", count: 14)
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text) }
        #expect(ids.count > 35_000)
        #expect(elapsed < .seconds(2), "\(ids.count) tokens in \(elapsed)")
        #expect(try tokenizer.decode(ids) == text)
    }
}

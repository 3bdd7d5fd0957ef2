import Testing
@testable import LanguageModel

@Suite struct StreamingDecoderTests {
    /// Byte-level tokens only: every byte of a multi-byte character is its own token.
    let tokenizer = try! Tokenizer(vocabulary: TokenizerTestSupport.vocabulary())

    @Test func holdsBackIncompleteCharacters() throws {
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let ids = tokenizer.encode("aé🚀b")
        #expect(ids.count == 1 + 2 + 4 + 1)
        var pieces: [String] = []
        for id in ids { pieces.append(try decoder.append(id)) }
        #expect(pieces == ["a", "", "é", "", "", "", "🚀", "b"])
        #expect(decoder.finish() == "")
    }

    @Test func streamedTextEqualsWholeDecodeForMixedInput() throws {
        let text = "Zürich 東京 👍🏽 ok\n"
        let ids = tokenizer.encode(text)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var streamed = ""
        for id in ids { streamed += try decoder.append(id) }
        streamed += decoder.finish()
        #expect(streamed == text)
        #expect(try tokenizer.decode(ids) == text)
    }

    @Test func finishReplacesATruncatedCharacter() throws {
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(try decoder.append(0xE6) == "")  // first byte of a 3-byte character
        #expect(try decoder.append(0x9D) == "")
        #expect(decoder.finish() == "\u{FFFD}")
        // An invalid byte that can never complete is emitted at once as U+FFFD.
        #expect(try decoder.append(0xFF) == "\u{FFFD}")
    }

    @Test func badIdThrowsAndKeepsState() throws {
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(try decoder.append(0xC3) == "")
        #expect(throws: TokenizerError.self) { try decoder.append(Int32(tokenizer.tokenCount)) }
        #expect(try decoder.append(0xA9) == "é")
    }
}

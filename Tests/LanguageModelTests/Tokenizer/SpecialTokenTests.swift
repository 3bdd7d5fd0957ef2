import Testing
@testable import LanguageModel

/// Special tokens written in text, on a hand-made vocabulary (expectations hand-derived from
/// llama.cpp's partition rule: longest special text first, every occurrence, left to right).
@Suite struct SpecialTokenTests {
    let tokenizer: Tokenizer
    let imStart: Int32
    let imEnd: Int32
    let longer: Int32
    let userDefined: Int32

    init() throws {
        let vocabulary = TokenizerTestSupport.vocabulary(
            extra: ["us", "er", "user"], merges: ["u s", "e r", "us er"],
            specials: [("<|im_start|>", .control), ("<|im_end|>", .control),
                       ("<|im_start|>user", .control), ("<tool>", .userDefined)])
        tokenizer = try Tokenizer(vocabulary: vocabulary)
        imStart = try #require(tokenizer.id(ofText: "<|im_start|>"))
        imEnd = try #require(tokenizer.id(ofText: "<|im_end|>"))
        longer = try #require(tokenizer.id(ofText: "<|im_start|>user"))
        userDefined = try #require(tokenizer.id(ofText: "<tool>"))
    }

    @Test func controlTokensInTextBecomeTheirIds() throws {
        let user = try #require(tokenizer.id(ofText: "user"))
        #expect(tokenizer.encode("<|im_start|>\nuser<|im_end|>") == [imStart, 0x0A, user, imEnd])
        #expect(tokenizer.encode("<|im_end|><|im_end|>") == [imEnd, imEnd])
    }

    @Test func longerSpecialTextWins() {
        #expect(tokenizer.encode("<|im_start|>user<|im_start|>") == [longer, imStart])
    }

    @Test func parseSpecialFalseTokenizesControlTextButStillMatchesUserDefined() throws {
        let plain = tokenizer.encode("<|im_end|><tool>", parseSpecial: false)
        #expect(!plain.contains(imEnd))
        #expect(plain.last == userDefined)
        #expect(try tokenizer.decode(plain) == "<|im_end|><tool>")
    }

    @Test func textAroundSpecialTokensIsPreTokenizedSeparately() {
        // "a" ends its span: the space before <|im_end|> is not joined to anything after it.
        #expect(tokenizer.encode("a <|im_end|> b") == [0x61, 0x20, imEnd, 0x20, 0x62])
    }

    @Test func decodingRendersOrOmitsControlTokens() throws {
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|><tool>")
        #expect(try tokenizer.decode(ids) == "<|im_start|>user\nhi<|im_end|><tool>")
        #expect(try tokenizer.decode(ids, renderSpecial: false) == "\nhi<tool>")
    }

    @Test func outOfRangeIdIsATypedError() {
        #expect(throws: TokenizerError.tokenIDOutOfRange(id: 99_999, tokenCount: tokenizer.tokenCount)) {
            try tokenizer.decode([0x61, 99_999])
        }
        #expect(throws: TokenizerError.tokenIDOutOfRange(id: -1, tokenCount: tokenizer.tokenCount)) {
            try tokenizer.decode([-1])
        }
        #expect(TokenizerError.tokenIDOutOfRange(id: -1, tokenCount: 1).code == 13)
    }

    @Test func bosIsAddedOnlyWhenAsked() throws {
        var vocabulary = TokenizerTestSupport.vocabulary(specials: [("<s>", .control)])
        vocabulary.bos = 256
        let t = try Tokenizer(vocabulary: vocabulary)
        #expect(t.encode("a") == [0x61])
        #expect(t.encode("a", addBOS: true) == [256, 0x61])
        #expect(t.encode("").isEmpty)
    }
}

import Testing
@testable import LanguageModel

/// Malformed vocabularies are rejected with typed errors (stable codes), never a crash.
@Suite struct TokenizerVocabularyValidationTests {
    func error(_ vocabulary: TokenizerVocabulary) -> TokenizerError? {
        do {
            _ = try Tokenizer(vocabulary: vocabulary)
            return nil
        } catch {
            return error
        }
    }

    @Test func mergeNamingAnUnknownTokenIsRejected() {
        let vocabulary = TokenizerTestSupport.vocabulary(extra: ["ab"], merges: ["a b", "ab zz"])
        #expect(error(vocabulary) == .mergeNamesUnknownToken(index: 1, token: "zz"))
        #expect(error(vocabulary)?.code == 11)
        // The merged result must be a token too.
        let noResult = TokenizerTestSupport.vocabulary(merges: ["a b"])
        #expect(error(noResult) == .mergeNamesUnknownToken(index: 0, token: "ab"))
    }

    @Test func mergeWithoutTwoPartsIsRejected() {
        for bad in ["ab", "a ", " a", ""] {
            let vocabulary = TokenizerTestSupport.vocabulary(extra: ["ab"], merges: ["a b", bad])
            #expect(error(vocabulary) == .malformedMerge(index: 1, text: bad), "merge \(bad.debugDescription)")
        }
    }

    @Test func tokenTypesMustMatchTokens() {
        var vocabulary = TokenizerTestSupport.vocabulary()
        vocabulary.tokenTypes.removeLast()
        #expect(error(vocabulary) == .tokenTypeCountMismatch(tokens: 256, types: 255))
        var invalid = TokenizerTestSupport.vocabulary()
        invalid.tokenTypes[7] = 9
        #expect(error(invalid) == .invalidTokenType(index: 7, value: 9))
        #expect(error(invalid)?.code == 7)
    }

    @Test func emptyDuplicateAndNonByteEncodedVocabulariesAreRejected() {
        #expect(error(TokenizerVocabulary(tokens: [], tokenTypes: [], merges: [])) == .emptyVocabulary)
        let duplicate = TokenizerTestSupport.vocabulary(extra: ["a"])
        #expect(error(duplicate) == .duplicateToken(text: "a", firstID: 0x61, secondID: 256))
        // "€" (U+20AC) is not in GPT-2's byte alphabet, so it cannot be a normal token's text.
        let notEncoded = TokenizerTestSupport.vocabulary(extra: ["€"])
        #expect(error(notEncoded) == .tokenNotByteEncoded(id: 256, text: "€"))
    }

    @Test func specialIdsMustBeInRangeAndPreTokenizerKnown() {
        var vocabulary = TokenizerTestSupport.vocabulary()
        vocabulary.eos = 256
        #expect(error(vocabulary) == .specialTokenIDOutOfRange(name: "EOS", id: 256))
        let unknownPre = TokenizerTestSupport.vocabulary(preTokenizer: "llama-bpe")
        #expect(error(unknownPre) == .unsupportedPreTokenizer("llama-bpe"))
    }

    @Test func errorCodesAreDistinct() {
        let all: [TokenizerError] = [
            .missingMetadata(key: ""), .wrongMetadataType(key: "", expected: ""), .unsupportedModel(""),
            .unsupportedPreTokenizer(""), .emptyVocabulary, .tokenTypeCountMismatch(tokens: 0, types: 0),
            .invalidTokenType(index: 0, value: 0), .duplicateToken(text: "", firstID: 0, secondID: 0),
            .tokenNotByteEncoded(id: 0, text: ""), .malformedMerge(index: 0, text: ""),
            .mergeNamesUnknownToken(index: 0, token: ""), .specialTokenIDOutOfRange(name: "", id: 0),
            .tokenIDOutOfRange(id: 0, tokenCount: 0), .unsupportedChatTemplate(""),
        ]
        #expect(Set(all.map(\.code)).count == all.count)
        #expect(all.map(\.code) == Array(1...all.count))
    }
}

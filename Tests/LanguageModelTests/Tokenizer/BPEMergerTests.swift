import Testing
@testable import LanguageModel

/// BPE merge order on hand-made vocabularies (expectations hand-derived from the rule: lowest
/// rank first, leftmost first on ties — llama.cpp's and Hugging Face's order).
@Suite struct BPEMergerTests {
    func tokenizer(_ extra: [String], _ merges: [String]) throws -> Tokenizer {
        try Tokenizer(vocabulary: TokenizerTestSupport.vocabulary(extra: extra, merges: merges))
    }

    func texts(_ tokenizer: Tokenizer, _ text: String) -> [String] {
        tokenizer.encode(text).map { tokenizer.text(of: $0) ?? "?" }
    }

    @Test func lowerRankMergesFirst() throws {
        let bcFirst = try tokenizer(["bc", "ab"], ["b c", "a b"])
        #expect(texts(bcFirst, "abc") == ["a", "bc"])
        let abFirst = try tokenizer(["bc", "ab"], ["a b", "b c"])
        #expect(texts(abFirst, "abc") == ["ab", "c"])
    }

    @Test func equalRanksMergeLeftmostFirstAndMergedTokensMergeAgain() throws {
        let t = try tokenizer(["aa", "aaaa"], ["a a", "aa aa"])
        #expect(texts(t, "aaa") == ["aa", "a"])
        #expect(texts(t, "aaaa") == ["aaaa"])
        #expect(texts(t, "aaaaa") == ["aaaa", "a"])
    }

    /// Words longer than `BPEMerger.shortWordLimit` bytes take the priority-queue path.
    @Test func longWordsGiveTheSameMergesAsShortOnes() throws {
        let t = try tokenizer(["aa", "aaaa", "ab"], ["a a", "aa aa", "a b"])
        let long = String(repeating: "a", count: 4 * 40 + 1)
        #expect(long.utf8.count > BPEMerger.shortWordLimit)
        #expect(texts(t, long) == Array(repeating: "aaaa", count: 40) + ["a"])
        // Leftmost-first on ties: "ab" (rank 2) forms only where "a a" (rank 0) left an "a".
        let mixed = String(repeating: "aab", count: 30)
        #expect(texts(t, mixed) == Array(repeating: ["aa", "b"], count: 30).flatMap { $0 })
        #expect(texts(t, String(repeating: "ab", count: 40)) == Array(repeating: "ab", count: 40))
    }

    @Test func mergesWorkOnByteEncodedTextAndStayInsideWords() throws {
        // "Ġ" is the byte-encoded space.
        let t = try tokenizer(["Ġt", "he", "Ġthe"], ["Ġ t", "h e", "Ġt he"])
        #expect(texts(t, " the the") == ["Ġthe", "Ġthe"])
        #expect(t.encode(" the").count == 1)
        // "the" without its space is a different word: no "t he" merge exists.
        #expect(texts(t, "the") == ["t", "he"])
    }

    @Test func multiByteCharactersStartAsSingleBytes() throws {
        // "é" is C3 A9, byte-encoded "Ã©".
        let t = try tokenizer(["Ã©"], ["Ã ©"])
        #expect(texts(t, "é") == ["Ã©"])
        #expect(try t.decode(t.encode("café")) == "café")
    }

    @Test func bytesWithoutATokenAreDroppedAsLlamaCppDoes() throws {
        let vocabulary = TokenizerTestSupport.vocabulary(missingBytes: [0x04])
        let t = try Tokenizer(vocabulary: vocabulary)
        #expect(t.encode("a\u{4}b") == [0x61, 0x62])
    }
}

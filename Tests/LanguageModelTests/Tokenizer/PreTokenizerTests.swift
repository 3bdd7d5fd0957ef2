import Testing
@testable import LanguageModel

/// Pre-tokenizer splits. Expectations are hand-derived from llama.cpp's implementation of the
/// `smollm` type (first `\p{N}` isolates every number character, then its GPT-2 split, see
/// PreTokenizer.swift); `tokenBoundariesOfFixtureCasesFallOnPieceBoundaries` in
/// TokenizerFixtureTests checks the same rule against llama.cpp's real output.
@Suite struct PreTokenizerTests {
    let smol = PreTokenizer.smolLM

    @Test func contractionsAreLowercaseOnly() {
        #expect(smol.split("I'm sure you're right, it's fine; we'll see what they'd say.") == [
            "I", "'m", " sure", " you", "'re", " right", ",", " it", "'s", " fine", ";",
            " we", "'ll", " see", " what", " they", "'d", " say", ".",
        ])
        // Upper-case contractions are not contractions: the apostrophe is "other" text.
        #expect(smol.split("DON'T PANIC!!! ...") == ["DON", "'", "T", " PANIC", "!!!", " ..."])
        #expect(smol.split("'sup 've") == ["'s", "up", " '", "ve"])
        // 're needs both letters inside the span.
        #expect(smol.split("x'r") == ["x", "'", "r"])
    }

    @Test func everyNumberCharacterStandsAlone() {
        #expect(smol.split("2026-11-22T14:29") == ["2", "0", "2", "6", "-", "1", "1", "-", "2", "2", "T", "1", "4", ":", "2", "9"])
        // The space before a digit cannot join it (the digit is isolated first).
        #expect(smol.split("pi 3.14") == ["pi", " ", "3", ".", "1", "4"])
        // Other Unicode numbers (No, Nl, Nd of other scripts) are \p{N} too.
        #expect(smol.split("x²+½ ٣Ⅻ") == ["x", "²", "+", "½", " ", "٣", "Ⅻ"])
        // gpt-2 keeps digit runs together, with an optional leading space.
        #expect(PreTokenizer.gpt2.split("pi 3.14 2026") == ["pi", " 3", ".", "14", " 2026"])
    }

    @Test func whitespaceRunsLeaveTheirLastCharacterToTheNextWord() {
        #expect(smol.split("newlines   end  ") == ["newlines", "  ", " end", "  "])
        #expect(smol.split("a\n\nb") == ["a", "\n", "\n", "b"])
        #expect(smol.split("def f(x):\n    return x") == ["def", " f", "(", "x", "):", "\n   ", " return", " x"])
        #expect(smol.split("  Leading spaces,\ttabs\n") == [" ", " Leading", " spaces", ",", "\t", "tabs", "\n"])
        // Non-ASCII white space (NBSP, EM SPACE) is \s; only ASCII space is an optional prefix.
        #expect(smol.split("\n\n\n    \t\t  \u{A0} \u{2003} mixed whitespace\r\n") == [
            "\n\n\n    \t\t  \u{A0} \u{2003}", " mixed", " whitespace", "\r\n",
        ])
        #expect(smol.split("\u{A0}word") == ["\u{A0}", "word"])
        #expect(smol.split(" \n") == [" \n"])
    }

    @Test func unicodeLettersMarksAndEmoji() {
        #expect(smol.split("Unicode: café, naïve, Zürich, 東京タワー, Ελληνικά, русский") == [
            "Unicode", ":", " café", ",", " naïve", ",", " Zürich", ",", " 東京タワー", ",",
            " Ελληνικά", ",", " русский",
        ])
        // A combining mark (Mn) is not a letter: it breaks the word and joins "other" text.
        #expect(smol.split("nai\u{308}ve") == ["nai", "\u{308}", "ve"])
        // Emoji, skin-tone modifiers, ZWJ (Cf) and punctuation are all "other".
        #expect(smol.split("emoji 🚀🔥👍🏽. 👨\u{200D}👩") == ["emoji", " 🚀🔥👍🏽.", " 👨\u{200D}👩"])
    }

    /// llama.cpp's character tables are Unicode 15.1 (derived from its generated
    /// unicode-data.cpp: U+2EBF0, CJK Extension I of 15.1, is a letter there; U+1C89, a Cyrillic
    /// capital of 16.0, is unassigned). Later letters and digits are "other" text.
    @Test func charactersNewerThanUnicode15_1AreNotLettersOrDigits() {
        #expect(smol.split("a\u{2EBF0}b") == ["a\u{2EBF0}b"])
        #expect(smol.split("a\u{1C89}b") == ["a", "\u{1C89}", "b"])
        // U+1FBF0…U+1FBF9 (segmented digits, Unicode 13) are Nd; U+1CCF0… (16.0 outlined digits) are not.
        #expect(smol.split("x\u{1FBF1}\u{1FBF2}") == ["x", "\u{1FBF1}", "\u{1FBF2}"])
        #expect(smol.split("x\u{1CCF1}\u{1CCF2}") == ["x", "\u{1CCF1}\u{1CCF2}"])
    }

    @Test func splitIsLosslessAndEmptyTextHasNoWords() {
        let text = "  mixed\u{2028}line 42 ; «quotes» — ok's\n\n"
        #expect(smol.split(text).joined() == text)
        #expect(smol.split("").isEmpty)
    }
}

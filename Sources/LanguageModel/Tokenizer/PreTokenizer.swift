/// The rule that splits text into words ("pre-tokens") before BPE runs inside each word,
/// selected by GGUF's `tokenizer.ggml.pre`. Behaviour follows llama.cpp's implementation of the
/// same pre-tokenizer type exactly (not a general regex engine).
///
/// Both rules use the GPT-2 pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, matched left to
/// right: contractions are lower-case only (`DON'T` splits as `DON`, `'`, `T`); a single ASCII
/// space may prefix a run of letters, numbers or other characters; a run of white space that is
/// followed by a non-space keeps its last character for the next word (`"a   b"` →
/// `"a"`, `"  "`, `" b"`); white space at the end of the text stays whole. Character classes are
/// those of ``CodepointClass``.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// llama.cpp's `smollm` type (shared with `starcoder`, `refact`, `command-r`, …): first every
    /// Unicode number character (`\p{N}`) is isolated as a word of its own, then the GPT-2 pattern
    /// splits each remaining span. So `" 2026"` becomes `" "`, `"2"`, `"0"`, `"2"`, `"6"`.
    case smolLM = "smollm"
    /// llama.cpp's `gpt-2` type: the GPT-2 pattern alone (`" 2026"` stays one word).
    case gpt2 = "gpt-2"
    /// llama.cpp's `default` type as the SentencePiece model uses it: no split, the whole span
    /// between special tokens is one word. (For a BPE vocabulary llama.cpp's `default` is a
    /// different rule, which this implementation does not provide.)
    case `default` = "default"

    /// Splits `text` into its pre-tokens. Concatenating the result gives `text` back.
    public func split(_ text: String) -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        var ends: [Int] = []
        pieceEnds(scalars, into: &ends)
        var words: [String] = []
        words.reserveCapacity(ends.count)
        var start = 0
        var view = String.UnicodeScalarView()
        for end in ends {
            view.removeAll(keepingCapacity: true)
            for index in start..<end { view.append(Unicode.Scalar(scalars[index])!) }
            words.append(String(view))
            start = end
        }
        return words
    }

    /// Appends to `ends` the exclusive end index (in scalars) of every pre-token of `scalars`,
    /// in order; the last appended value is `scalars.count` unless `scalars` is empty.
    func pieceEnds(_ scalars: [UInt32], into ends: inout [Int]) {
        scalars.withUnsafeBufferPointer { buffer in
            switch self {
            case .gpt2:
                Self.splitGPT2(buffer, start: 0, end: buffer.count, into: &ends)
            case .default:
                if !buffer.isEmpty { ends.append(buffer.count) }
            case .smolLM:
                var segmentStart = 0
                for index in 0..<buffer.count where CodepointClass.of(buffer[index]).isNumber {
                    Self.splitGPT2(buffer, start: segmentStart, end: index, into: &ends)
                    ends.append(index + 1)
                    segmentStart = index + 1
                }
                Self.splitGPT2(buffer, start: segmentStart, end: buffer.count, into: &ends)
            }
        }
    }

    /// The GPT-2 pattern over `scalars[start..<end]`; scalars outside the span count as absent
    /// (neither letter, number, white space nor "other"), as in llama.cpp.
    private static func splitGPT2(
        _ scalars: UnsafeBufferPointer<UInt32>, start: Int, end: Int, into ends: inout [Int]
    ) {
        let absent: UInt8 = 0x80
        @inline(__always) func bits(_ position: Int) -> UInt8 {
            position < end ? CodepointClass.of(scalars[position]).bits : absent
        }
        @inline(__always) func isOther(_ b: UInt8) -> Bool { b == 0 }
        let letter = CodepointClass.letterBit
        let number = CodepointClass.numberBit
        let space = CodepointClass.whitespaceBit
        let apostrophe: UInt32 = 0x27
        let asciiSpace: UInt32 = 0x20

        var position = start
        while position < end {
            let scalar = scalars[position]
            // 's|'t|'re|'ve|'m|'ll|'d
            if scalar == apostrophe && position + 1 < end {
                let next = scalars[position + 1]
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    position += 2
                    ends.append(position)
                    continue
                }
                if position + 2 < end {
                    let nextNext = scalars[position + 2]
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)
                        || (next == 0x6C && nextNext == 0x6C)  // re ve ll
                    {
                        position += 3
                        ends.append(position)
                        continue
                    }
                }
            }
            let hasSpacePrefix = scalar == asciiSpace
            let lead = hasSpacePrefix ? bits(position + 1) : bits(position)
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            if lead & letter != 0 {
                if hasSpacePrefix { position += 1 }
                while bits(position) & letter != 0 { position += 1 }
                ends.append(position)
                continue
            }
            if lead & number != 0 {
                if hasSpacePrefix { position += 1 }
                while bits(position) & number != 0 { position += 1 }
                ends.append(position)
                continue
            }
            if isOther(lead) {
                if hasSpacePrefix { position += 1 }
                while isOther(bits(position)) { position += 1 }
                ends.append(position)
                continue
            }
            // '\s+(?!\S)' and '\s+'
            var whitespaceCount = 0
            while bits(position + whitespaceCount) & space != 0 { whitespaceCount += 1 }
            if whitespaceCount > 1 && position + whitespaceCount < end {
                position += whitespaceCount - 1
            } else if whitespaceCount > 0 {
                position += whitespaceCount
            } else {
                position += 1  // no rule matches: the scalar stands alone
            }
            ends.append(position)
        }
    }
}

/// The SentencePiece-style tokenizer model (`tokenizer.ggml.model = llama`, Gemma 3), exactly as
/// llama.cpp implements it (`llm_tokenizer_spm`):
///
/// 1. Every space (0x20) of the span becomes U+2581 `▁`; with `add_space_prefix` a `▁` is put
///    in front when the span opens the text or follows a special token.
/// 2. The text is split into UTF-8 characters, each a symbol.
/// 3. While some pair of adjacent symbols concatenates to a vocabulary token (of any type), the
///    pair whose token has the highest score is merged (ties: the leftmost pair).
/// 4. Each final symbol that is a token emits it; any other symbol (a single character with no
///    token) emits its UTF-8 bytes as the byte tokens `<0xXX>` — or, where a byte has none, the
///    token whose text is that one byte, else the unknown token.
///
/// A merged symbol is always a token (only pairs forming a token merge), so llama.cpp's
/// recursive re-segmentation never splits one; step 4 is all of it.
///
/// llama.cpp merges the whole span as one sequence with one priority queue. Here the span is cut
/// before every `▁` that follows a character `c` (not `▁`) such that no token contains `c▁`: no
/// pair can merge across such a cut, so the pieces merge independently to the same tokens, with
/// small queues that stay in cache (for Gemma 3 only `>` has such a token, `>▁</`). A piece seen
/// before in the same `encode` call (a repeated word) copies its earlier tokens (``WordCache``).
struct SentencePieceMerger: Sendable {
    /// Score of each token (higher merges first).
    let scores: [Float]
    /// Token for each byte value (byte fallback), -1 where there is none.
    let byteTokens: [Int32]
    /// Emitted for a byte without a byte token; `nil` drops the byte.
    let unknown: Int32?
    /// The characters (UTF-8), other than `▁`, that some token has right before a `▁`: no cut
    /// goes after them.
    let joinedBeforeSpace: [[UInt8]]

    /// The characters other than `▁` that some text of `texts` has right before a `▁`.
    static func charactersBeforeSpace(in texts: [String]) -> [[UInt8]] {
        var found: Set<[UInt8]> = []
        for var text in texts {
            text.withUTF8 { bytes in
                var position = 1
                while position + 2 < bytes.count {
                    defer { position += 1 }
                    guard bytes[position] == 0xE2 && bytes[position + 1] == 0x96 && bytes[position + 2] == 0x81 else { continue }
                    var start = position - 1
                    while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
                    let character = Array(bytes[start..<position])
                    if character != space { found.insert(character) }
                }
            }
        }
        return found.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// `▁` (U+2581) in UTF-8.
    static let space: [UInt8] = [0xE2, 0x96, 0x81]

    /// State of one `encode` call, shared by its spans.
    struct Workspace {
        /// The escaped text of every span so far, one after the other (so that the cache's byte
        /// ranges stay valid for the whole call).
        var text: [UInt8] = []
        var symbols: [Symbol] = []
        var queue = MergeQueue<Candidate>()
        /// Pieces of ``text`` already merged → their tokens in the output.
        var cache = WordCache()
    }

    /// One symbol: a byte range of the escaped text and its neighbours (-1 at either end).
    struct Symbol {
        var start: Int32
        var length: Int32
        var previous: Int32
        var next: Int32
    }

    /// Encodes the raw text `bytes[range]` (valid UTF-8) and appends its tokens to `output`.
    ///
    /// - Parameter spacePrefix: put `▁` in front of the span first.
    func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, spacePrefix: Bool, index: TokenTextIndex,
        into output: inout [Int32], workspace: inout Workspace
    ) {
        let spanStart = workspace.text.count
        if spacePrefix { workspace.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for position in range {
            let byte = bytes[position]
            if byte == 0x20 {
                workspace.text.append(contentsOf: [0xE2, 0x96, 0x81])
            } else {
                workspace.text.append(byte)
            }
        }
        guard workspace.text.count < Int(Int32.max) else { return }
        let text = workspace.text
        text.withUnsafeBufferPointer { text in
            var start = spanStart
            var position = spanStart + 1
            while position + 2 < text.count {
                if text[position] == 0xE2 && text[position + 1] == 0x96 && text[position + 2] == 0x81
                    && canCut(text, before: position) {
                    mergeCached(text, start..<position, index: index, into: &output, workspace: &workspace)
                    start = position
                    position += 3
                } else {
                    position += 1
                }
            }
            mergeCached(text, start..<text.count, index: index, into: &output, workspace: &workspace)
        }
    }

    /// ``merge(_:_:index:into:workspace:)``, or a copy of the tokens of an equal piece merged before.
    private func mergeCached(
        _ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, index: TokenTextIndex,
        into output: inout [Int32], workspace: inout Workspace
    ) {
        guard range.count >= 4 && output.count < Int(Int32.max) / 2 else {
            merge(text, range, index: index, into: &output, workspace: &workspace)
            return
        }
        let hash = WordCache.hash(text, range)
        if let found = workspace.cache.lookup(text, range, hash: hash) {
            for position in found { output.append(output[position]) }
            return
        }
        let before = output.count
        merge(text, range, index: index, into: &output, workspace: &workspace)
        workspace.cache.insert(range, hash: hash, tokens: before..<output.count)
    }

    /// Whether no token can span `text[position - 1]` and the `▁` at `position`: the character
    /// ending at `position` is neither `▁` nor one of ``joinedBeforeSpace``.
    @inline(__always)
    private func canCut(_ text: UnsafeBufferPointer<UInt8>, before position: Int) -> Bool {
        if position >= 3 && text[position - 3] == 0xE2 && text[position - 2] == 0x96 && text[position - 1] == 0x81 {
            return false
        }
        for joined in joinedBeforeSpace where joined.count <= position {
            var matches = true
            for (offset, byte) in joined.enumerated() where text[position - joined.count + offset] != byte {
                matches = false
                break
            }
            if matches { return false }
        }
        return true
    }

    /// Merges `text[range]` as one sequence and appends its tokens.
    private func merge(
        _ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, index: TokenTextIndex,
        into output: inout [Int32], workspace: inout Workspace
    ) {
        var symbols = workspace.symbols
        var queue = workspace.queue
        defer {
            workspace.symbols = symbols
            workspace.queue = queue
        }
        symbols.removeAll(keepingCapacity: true)
        queue.removeAll()

        var offset = range.lowerBound
        while offset < range.upperBound {
            let lead = text[offset]
            // llama.cpp's unicode_len_utf8: by the lead byte's top four bits (a stray
            // continuation byte counts as one).
            let width: Int = switch lead >> 4 {
            case 0xC, 0xD: 2
            case 0xE: 3
            case 0xF: 4
            default: 1
            }
            let length = min(width, range.upperBound - offset)
            let number = Int32(symbols.count)
            symbols.append(Symbol(start: Int32(offset), length: Int32(length), previous: number - 1,
                                  next: offset + length == range.upperBound ? -1 : number + 1))
            offset += length
        }
        if symbols.isEmpty { return }

        symbols.withUnsafeMutableBufferPointer { symbols in
            scores.withUnsafeBufferPointer { scores in
                func consider(_ left: Int32, _ right: Int32) {
                    guard left >= 0 && right >= 0 else { return }
                    let start = Int(symbols[Int(left)].start)
                    let size = Int(symbols[Int(left)].length + symbols[Int(right)].length)
                    let token = index.id(text, start, start + size)
                    guard token >= 0 else { return }
                    queue.insert(Candidate(score: scores[Int(token)], left: left, right: right, size: Int32(size)))
                }

                for right in 1..<symbols.count { consider(Int32(right - 1), Int32(right)) }

                while let best = queue.popFirst() {
                    let left = Int(best.left), right = Int(best.right)
                    // Stale: one side was merged away or has grown since the pair was queued.
                    if symbols[left].length == 0 || symbols[right].length == 0
                        || symbols[left].length + symbols[right].length != best.size {
                        continue
                    }
                    symbols[left].length += symbols[right].length
                    symbols[right].length = 0
                    symbols[left].next = symbols[right].next
                    if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = best.left }
                    consider(symbols[left].previous, best.left)
                    consider(best.left, symbols[left].next)
                }

                var current = 0
                while current >= 0 {
                    let symbol = symbols[current]
                    let start = Int(symbol.start), end = start + Int(symbol.length)
                    let token = index.id(text, start, end)
                    if token >= 0 {
                        output.append(token)
                    } else {
                        for position in start..<end {
                            let byteToken = byteTokens[Int(text[position])]
                            if byteToken >= 0 {
                                output.append(byteToken)
                            } else if let unknown {
                                output.append(unknown)
                            }
                        }
                    }
                    current = Int(symbol.next)
                }
            }
        }
    }

    /// A pair of adjacent symbols whose concatenation is a token.
    struct Candidate: MergeOrdered {
        var score: Float
        var left: Int32
        var right: Int32
        /// Bytes of the two symbols together when the pair was queued.
        var size: Int32

        /// Whether `self` merges before `other`: higher score, then the smaller left index.
        @inline(__always)
        func precedes(_ other: Candidate) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }
}

/// Cutting special tokens (control, unknown, user-defined) out of the text before BPE or
/// SentencePiece merging.
extension Tokenizer {
    /// Splits `bytes` into raw-text spans and special-token matches, llama.cpp's way: for each
    /// special token, longest first, every raw span is cut at each occurrence, left to right.
    /// Tokens that do not occur in the text at all (found in one pass by ``SpecialTokenTrie``) are
    /// skipped: Gemma 3 has 6 414 special tokens, and a scan of the text for each took seconds.
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments = [Fragment(start: 0, end: bytes.count, token: -1)]
        if bytes.isEmpty { return [] }
        let occurring = specialTokenTrie.occurring(in: bytes)
        for number in occurring {
            let special = specialTokens[number]
            guard parseSpecial || special.type == .userDefined else { continue }
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard fragment.token < 0 else { next.append(fragment); continue }
                var start = fragment.start
                while let match = Self.find(special.bytes, in: bytes, from: start, to: fragment.end) {
                    if match > start { next.append(Fragment(start: start, end: match, token: -1)) }
                    next.append(Fragment(start: match, end: match + special.bytes.count, token: special.id))
                    start = match + special.bytes.count
                }
                if start < fragment.end { next.append(Fragment(start: start, end: fragment.end, token: -1)) }
            }
            fragments = next
        }
        return fragments
    }

    struct Fragment {
        var start: Int
        var end: Int
        /// Token id of a special-token match, or -1 for raw text.
        var token: Int32
    }

    /// First index `i` in `start..<end` with `bytes[i..<i+needle.count] == needle`.
    private static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        let count = needle.count
        guard count > 0, end - start >= count else { return nil }
        let first = needle[0]
        var index = start
        let last = end - count
        while index <= last {
            if bytes[index] == first {
                var matched = true
                var offset = 1
                while offset < count {
                    if bytes[index + offset] != needle[offset] { matched = false; break }
                    offset += 1
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}

/// A byte trie over the special tokens' texts that finds, in one pass over a text, which of them
/// occur in it (a walk from every position; most positions end at the root, since few bytes start
/// a special token).
struct SpecialTokenTrie: Sendable {
    /// Child of the root for each byte, -1 for none.
    private let rootChildren: [Int32]
    /// Child of node `n` for byte `b`, stored under the key `n << 8 | b`.
    private let children: MergeTable
    /// For each node, the number of the text ending there, or -1.
    private let terminal: [Int32]
    private let textCount: Int

    /// Builds the trie of `texts` (distinct, non-empty); ``occurring(in:)`` reports them by index.
    init(_ texts: [[UInt8]]) {
        // In sorted order, each text shares its first `common` nodes with the one before it, so
        // the trie is built with no look-ups: `path[d]` is the node at depth `d + 1` of the last text.
        let order = texts.indices.sorted { texts[$0].lexicographicallyPrecedes(texts[$1]) }
        var rootChildren = [Int32](repeating: -1, count: 256)
        var edges: [(key: UInt64, value: UInt64)] = []
        var terminal: [Int32] = [-1]
        var path: [Int32] = []
        var previous: [UInt8] = []
        for number in order {
            let text = texts[number]
            var common = 0
            while common < min(text.count, previous.count) && text[common] == previous[common] { common += 1 }
            path.removeLast(path.count - common)
            for depth in common..<text.count {
                let node = Int32(terminal.count)
                terminal.append(-1)
                if depth == 0 {
                    rootChildren[Int(text[0])] = node
                } else {
                    edges.append((key: UInt64(path[depth - 1]) << 8 | UInt64(text[depth]), value: UInt64(node)))
                }
                path.append(node)
            }
            if let last = path.last { terminal[Int(last)] = Int32(number) }
            previous = text
        }
        self.rootChildren = rootChildren
        self.children = MergeTable(edges)
        self.terminal = terminal
        self.textCount = texts.count
    }

    /// Indices of the texts that occur in `bytes`, in increasing order.
    func occurring(in bytes: UnsafeBufferPointer<UInt8>) -> [Int] {
        var found = [Bool](repeating: false, count: textCount)
        var any = false
        for start in 0..<bytes.count {
            var node = rootChildren[Int(bytes[start])]
            var position = start
            while node >= 0 {
                let number = terminal[Int(node)]
                if number >= 0 { found[Int(number)] = true; any = true }
                position += 1
                if position == bytes.count { break }
                guard let child = children.value(for: UInt64(node) << 8 | UInt64(bytes[position])) else { break }
                node = Int32(child)
            }
        }
        return any ? found.indices.filter { found[$0] } : []
    }
}

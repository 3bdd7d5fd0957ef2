/// Cutting special tokens (control, unknown, user-defined) out of the text before BPE.
extension Tokenizer {
    /// Splits `bytes` into raw-text spans and special-token matches, llama.cpp's way: for each
    /// special token, longest first, every raw span is cut at each occurrence, left to right.
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments = [Fragment(start: 0, end: bytes.count, token: -1)]
        if bytes.isEmpty { return [] }
        for special in specialTokens where parseSpecial || special.type == .userDefined {
            guard Self.find(special.bytes, in: bytes, from: 0, to: bytes.count) != nil else { continue }
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

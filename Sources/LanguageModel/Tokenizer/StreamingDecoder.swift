/// Turns a stream of token ids (for example, generated one at a time) into text, emitting only
/// complete UTF-8 characters: bytes of a character split across tokens are held back until the
/// token that completes it arrives.
///
/// The concatenation of everything ``append(_:)`` and ``finish()`` return equals
/// ``Tokenizer/decode(_:renderSpecial:)`` of all the ids at once.
public struct StreamingDecoder: Sendable {
    /// The tokenizer whose ids are decoded.
    public let tokenizer: Tokenizer
    /// Whether control tokens are written as their text. Default `true`.
    public let renderSpecial: Bool
    /// Bytes of an incomplete trailing character (at most 3).
    private var pending: [UInt8] = []

    /// Creates a decoder with nothing pending.
    public init(tokenizer: Tokenizer, renderSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one token and returns the text that became complete (possibly empty).
    ///
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(id:tokenCount:)``; nothing is consumed then.
    public mutating func append(_ id: Int32) throws(TokenizerError) -> String {
        pending.append(contentsOf: try tokenizer.bytes(of: id, renderSpecial: renderSpecial))
        let cut = Self.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is still pending (an incomplete character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix of `bytes` that does not end inside a character whose
    /// remaining bytes could still arrive.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var back = 1
        while back <= min(3, count) {
            let byte = bytes[count - back]
            if byte & 0xC0 != 0x80 {  // a lead byte (or ASCII)
                let needed: Int
                switch byte {
                case 0xC2...0xDF: needed = 2
                case 0xE0...0xEF: needed = 3
                case 0xF0...0xF4: needed = 4
                default: needed = 1
                }
                return needed > back ? count - back : count
            }
            back += 1
        }
        return count
    }
}

/// Token ids → bytes → text.
extension Tokenizer {
    /// The exact bytes token `id` stands for. Control and unknown tokens give their text when
    /// `renderSpecial` is `true` and nothing otherwise; user-defined tokens always give their
    /// text; unused, byte and undefined tokens give nothing.
    ///
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(id:tokenCount:)``.
    public func bytes(of id: Int32, renderSpecial: Bool = true) throws(TokenizerError) -> [UInt8] {
        guard id >= 0 && Int(id) < tokenCount else { throw .tokenIDOutOfRange(id: id, tokenCount: tokenCount) }
        let type = types[Int(id)]
        if !renderSpecial && (type == .control || type == .unknown) { return [] }
        return pieces[Int(id)]
    }

    /// The bytes of a token sequence, concatenated (see ``bytes(of:renderSpecial:)``).
    /// Inlinable (like ``decode(_:renderSpecial:)``), so a caller in another module gets it
    /// specialised for its sequence type: unspecialised it took 2.3× as long.
    @inlinable
    public func decodeBytes(_ ids: some Sequence<Int32>, renderSpecial: Bool = true) throws(TokenizerError) -> [UInt8] {
        var result: [UInt8] = []
        for id in ids {
            result.append(contentsOf: try bytes(of: id, renderSpecial: renderSpecial))
        }
        return result
    }

    /// Decodes token ids to text. Bytes that are not valid UTF-8 (a character cut between
    /// tokens at either end) become U+FFFD.
    ///
    /// - Parameter renderSpecial: write control tokens (`<|im_end|>`) as their text (default) or
    ///   omit them.
    /// - Throws: ``TokenizerError/tokenIDOutOfRange(id:tokenCount:)``.
    @inlinable
    public func decode(_ ids: some Sequence<Int32>, renderSpecial: Bool = true) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }
}

/// The tokenizer of a model's vocabulary (GGUF `tokenizer.ggml.*` metadata), matching
/// llama.cpp's tokenization of the same file, for both tokenizer models llama.cpp calls `gpt2`
/// (GPT-2 style byte-level BPE: SmolLM2) and `llama` (SentencePiece style: Gemma 3).
///
/// Encoding: special tokens (control, unknown and user-defined types) are first cut out of the
/// text, longest first. Then, for BPE, each remaining span is split into words by the
/// ``PreTokenizer`` and BPE runs inside each word on its UTF-8 bytes; for SentencePiece, each
/// span is merged whole by token score (``SentencePieceMerger``). No BOS is added unless asked for.
/// Decoding: ids → the exact bytes they stand for → `String` (invalid UTF-8, which a cut in the
/// middle of a character produces, becomes U+FFFD; use ``StreamingDecoder`` to emit text as it
/// completes).
///
/// Token ids are `Int32` in `0..<tokenCount`. A `Tokenizer` is immutable and `Sendable`; its
/// encode and decode methods can run concurrently.
public struct Tokenizer: Sendable {
    /// The tokenizer model of the vocabulary.
    public let model: TokenizerVocabulary.Model
    /// Number of tokens in the vocabulary (49 152 for SmolLM2, 262 144 for Gemma 3).
    public let tokenCount: Int
    /// The pre-tokenizer in use (``PreTokenizer/default`` for SentencePiece).
    public let preTokenizer: PreTokenizer
    /// Beginning-of-sequence token id, if the vocabulary names one.
    public let bos: Int32?
    /// End-of-sequence token id, if the vocabulary names one (`<|im_end|>` for SmolLM2).
    public let eos: Int32?
    /// End-of-turn token id, if the vocabulary names one.
    public let eot: Int32?
    /// Unknown token id, if the vocabulary names one.
    public let unknown: Int32?
    /// Padding token id, if the vocabulary names one.
    public let padding: Int32?
    /// Whether the model expects BOS at the start of a sequence (`false` for SmolLM2, `true` for
    /// Gemma 3).
    public let addBOSByDefault: Bool
    /// SentencePiece only: whether `▁` is put before a span that opens the text or follows a
    /// special token (`false` for Gemma 3).
    public let addSpacePrefix: Bool
    /// Tokens that end generation: ``eos``, ``eot`` and the control tokens llama.cpp also treats
    /// as end of generation by their text (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`, `<|end|>`,
    /// `<end_of_turn>`).
    public let endOfGeneration: Set<Int32>
    /// The model's Jinja chat template text, if the vocabulary carries one.
    public let chatTemplateText: String?

    /// Token texts as stored in the vocabulary (byte-encoded for normal BPE tokens).
    private let texts: [String]
    /// Token text → id.
    let textIndex: TokenTextIndex
    /// Type of each token.
    let types: [TokenType]
    /// The bytes each token stands for (empty for tokens that decode to nothing).
    let pieces: [[UInt8]]
    private let encoder: Encoder
    /// Tokens matched literally in text, longest text first.
    let specialTokens: [SpecialToken]
    /// Finds which ``specialTokens`` occur in a text, in one pass.
    let specialTokenTrie: SpecialTokenTrie

    /// The merging step of the vocabulary's model.
    private enum Encoder: Sendable {
        case bytePairs(BPEMerger)
        case sentencePiece(SentencePieceMerger)
    }

    struct SpecialToken: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let type: TokenType
    }

    /// Builds and validates the tokenizer's tables.
    ///
    /// - Throws: ``TokenizerError`` when the vocabulary is empty, the token types or scores do not
    ///   match the tokens, a token type is invalid, two tokens share a text, a normal BPE token is
    ///   not byte-encoded, a SentencePiece byte token is not `<0xXX>`, a merge is malformed or
    ///   names an unknown token, a special id is out of range, or the pre-tokenizer is unknown
    ///   (or not ``PreTokenizer/default`` for SentencePiece, or that for BPE).
    public init(vocabulary: TokenizerVocabulary) throws(TokenizerError) {
        let tokens = vocabulary.tokens
        let model = vocabulary.model
        guard !tokens.isEmpty else { throw .emptyVocabulary }
        guard tokens.count <= Int(Int32.max) else {
            throw .wrongMetadataType(key: "tokenizer.ggml.tokens", expected: "at most 2^31-1 tokens")
        }
        guard vocabulary.tokenTypes.count == tokens.count else {
            throw .tokenTypeCountMismatch(tokens: tokens.count, types: vocabulary.tokenTypes.count)
        }
        guard vocabulary.scores.isEmpty || vocabulary.scores.count == tokens.count else {
            throw .scoreCountMismatch(tokens: tokens.count, scores: vocabulary.scores.count)
        }
        guard let preTokenizer = PreTokenizer(rawValue: vocabulary.preTokenizer),
              (preTokenizer == .default) == (model == .sentencePiece) else {
            throw .unsupportedPreTokenizer(vocabulary.preTokenizer)
        }

        var types: [TokenType] = []
        types.reserveCapacity(tokens.count)
        for (index, raw) in vocabulary.tokenTypes.enumerated() {
            guard let type = TokenType(rawValue: raw) else { throw .invalidTokenType(index: index, value: raw) }
            types.append(type)
        }

        let textIndex = try TokenTextIndex(texts: tokens)
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(tokens.count)
        var specials: [SpecialToken] = []
        for (index, text) in tokens.enumerated() {
            let id = Int32(index)
            switch (types[index], model) {
            case (.normal, .bytePairEncoding):
                guard let bytes = ByteLevelAlphabet.decode(text) else { throw .tokenNotByteEncoded(id: id, text: text) }
                pieces.append(bytes)
            case (.normal, .sentencePiece):
                pieces.append(Self.unescapingSpaces(text))
            case (.byte, .sentencePiece):
                guard let byte = Self.byteOfByteToken(text) else { throw .malformedByteToken(id: id, text: text) }
                pieces.append([byte])
            case (.control, _), (.unknown, _), (.userDefined, _):
                pieces.append(Array(text.utf8))
                if !text.isEmpty { specials.append(SpecialToken(bytes: Array(text.utf8), id: id, type: types[index])) }
            case (.undefined, _), (.unused, _), (.byte, .bytePairEncoding):
                pieces.append([])
            }
        }
        // Longest first, so that a special token containing another wins; ties by id.
        specials.sort { ($0.bytes.count, -$0.id) > ($1.bytes.count, -$1.id) }

        func checked(_ id: Int32?, _ name: String) throws(TokenizerError) -> Int32? {
            guard let id else { return nil }
            guard id >= 0 && Int(id) < tokens.count else { throw .specialTokenIDOutOfRange(name: name, id: Int64(id)) }
            return id
        }
        self.bos = try checked(vocabulary.bos, "BOS")
        self.eos = try checked(vocabulary.eos, "EOS")
        self.eot = try checked(vocabulary.eot, "EOT")
        self.unknown = try checked(vocabulary.unknown, "unknown")
        self.padding = try checked(vocabulary.padding, "padding")

        switch model {
        case .bytePairEncoding:
            self.encoder = .bytePairs(try Self.bytePairMerger(vocabulary.merges, textIndex: textIndex))
        case .sentencePiece:
            var byteTokens = [Int32](repeating: -1, count: 256)
            let hex = Array("0123456789ABCDEF".utf8)
            for byte in 0..<256 {
                // llama.cpp's byte_to_token: `<0xXX>`, else the token whose text is the byte.
                let name: [UInt8] = [0x3C, 0x30, 0x78, hex[byte >> 4], hex[byte & 15], 0x3E]
                byteTokens[byte] = textIndex.id(ofBytes: name) ?? textIndex.id(ofBytes: [UInt8(byte)]) ?? -1
            }
            let scores = vocabulary.scores.isEmpty ? [Float](repeating: 0, count: tokens.count) : vocabulary.scores
            self.encoder = .sentencePiece(SentencePieceMerger(
                scores: scores, byteTokens: byteTokens, unknown: unknown,
                joinedBeforeSpace: SentencePieceMerger.charactersBeforeSpace(in: tokens)))
        }

        var endOfGeneration = Set([eos, eot].compactMap { $0 })
        for text in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"] {
            if let id = textIndex.id(of: text), types[Int(id)] == .control { endOfGeneration.insert(id) }
        }

        self.model = model
        self.tokenCount = tokens.count
        self.preTokenizer = preTokenizer
        self.addBOSByDefault = vocabulary.addBOS
        self.addSpacePrefix = model == .sentencePiece && vocabulary.addSpacePrefix
        self.endOfGeneration = endOfGeneration
        self.chatTemplateText = vocabulary.chatTemplate
        self.texts = tokens
        self.textIndex = textIndex
        self.types = types
        self.pieces = pieces
        self.specialTokens = specials
        self.specialTokenTrie = SpecialTokenTrie(specials.map(\.bytes))
    }

    /// The BPE merger of `merges` (`"<left> <right>"` each, in rank order).
    private static func bytePairMerger(_ merges: [String], textIndex: TokenTextIndex) throws(TokenizerError) -> BPEMerger {
        var rules: [(left: Int32, right: Int32, merged: Int32)] = []
        rules.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let utf8 = Array(merge.utf8)
            // Split at the first space after the first byte (a left part is never empty).
            guard utf8.count >= 3, let space = utf8[1...].firstIndex(of: 0x20), space + 1 < utf8.count else {
                throw .malformedMerge(index: index, text: merge)
            }
            let leftBytes = Array(utf8[..<space]), rightBytes = Array(utf8[(space + 1)...])
            func name(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
            guard let left = textIndex.id(ofBytes: leftBytes) else {
                throw .mergeNamesUnknownToken(index: index, token: name(leftBytes))
            }
            guard let right = textIndex.id(ofBytes: rightBytes) else {
                throw .mergeNamesUnknownToken(index: index, token: name(rightBytes))
            }
            guard let merged = textIndex.id(ofBytes: leftBytes + rightBytes) else {
                throw .mergeNamesUnknownToken(index: index, token: name(leftBytes + rightBytes))
            }
            rules.append((left, right, merged))
        }
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            byteTokens[byte] = textIndex.id(of: ByteLevelAlphabet.text(forByte: UInt8(byte))) ?? -1
        }
        return BPEMerger(merges: rules, byteTokens: byteTokens)
    }

    /// A SentencePiece token's text with each `▁` (U+2581) turned back into a space.
    private static func unescapingSpaces(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        guard bytes.count >= 3 else { return bytes }
        var write = 0, read = 0
        while read < bytes.count {
            if read + 2 < bytes.count && bytes[read] == 0xE2 && bytes[read + 1] == 0x96 && bytes[read + 2] == 0x81 {
                bytes[write] = 0x20
                read += 3
            } else {
                bytes[write] = bytes[read]
                read += 1
            }
            write += 1
        }
        bytes.removeLast(bytes.count - write)
        return bytes
    }

    /// The byte of a byte token's text `<0xXX>` (hex digits of either case), or `nil`.
    static func byteOfByteToken(_ text: String) -> UInt8? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6, utf8[0] == 0x3C, utf8[1] == 0x30, utf8[2] == 0x78, utf8[5] == 0x3E else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }

    // MARK: - Token facts

    /// The token's text as stored in the vocabulary (for BPE, normal tokens are GPT-2
    /// byte-encoded, so a leading space shows as `Ġ`; for SentencePiece a space is `▁`), or `nil`
    /// for an id outside `0..<tokenCount`.
    public func text(of id: Int32) -> String? {
        id >= 0 && Int(id) < tokenCount ? texts[Int(id)] : nil
    }

    /// The token's type, or `nil` for an id outside `0..<tokenCount`.
    public func type(of id: Int32) -> TokenType? {
        id >= 0 && Int(id) < tokenCount ? types[Int(id)] : nil
    }

    /// The id of the token whose stored text is exactly `text`, if any.
    public func id(ofText text: String) -> Int32? {
        textIndex.id(of: text)
    }

    // MARK: - Encoding

    /// Encodes `text` into token ids.
    ///
    /// - Parameters:
    ///   - parseSpecial: when `true` (default), control and unknown tokens written in the text
    ///     (`<|im_start|>`) become their ids; when `false` they are tokenized as plain text.
    ///     User-defined tokens are always matched.
    ///   - addBOS: prepend ``bos`` (if the vocabulary has one). Default `false`.
    /// - Returns: token ids, in order. Empty text gives no tokens.
    public func encode(_ text: String, parseSpecial: Bool = true, addBOS: Bool = false) -> [Int32] {
        encode(text, parseSpecial: parseSpecial, addBOS: addBOS, strategy: .cached)
    }

    /// How ``encode(_:parseSpecial:addBOS:strategy:)`` runs BPE (benchmarks and tests compare
    /// them). SentencePiece has one way and ignores it.
    package enum EncodingStrategy {
        /// The default: array-scan BPE for short words, priority queue for long ones, and a
        /// per-call cache of the words of ``Tokenizer/cacheMinimumBytes`` or more bytes.
        case cached
        /// The default BPE on every word, no cache.
        case uncached
        /// Priority-queue BPE on every word, no cache.
        case uncachedQueue
        /// The textbook O(n²) merge loop on every word.
        case uncachedReference
    }

    /// Words shorter than this many bytes are not cached: encoding them is about as fast as
    /// hashing them (measured, see docs/BENCHMARKS.md).
    static let cacheMinimumBytes = 8

    package func encode(_ text: String, parseSpecial: Bool, addBOS: Bool, strategy: EncodingStrategy) -> [Int32] {
        var output: [Int32] = []
        if addBOS, let bos { output.append(bos) }
        let utf8 = Array(text.utf8)
        output.reserveCapacity(output.count + utf8.count / 3 + 16)
        let fragments = utf8.withUnsafeBufferPointer { partition($0, parseSpecial: parseSpecial) }
        var session = EncodingSession()
        var afterSpecial = true
        for fragment in fragments {
            if fragment.token >= 0 {
                output.append(fragment.token)
                afterSpecial = true
                continue
            }
            let range = fragment.start..<fragment.end
            switch encoder {
            case .bytePairs(let merger):
                encodeRaw(utf8, range, merger: merger, into: &output, session: &session, strategy: strategy)
            case .sentencePiece(let merger):
                utf8.withUnsafeBufferPointer { bytes in
                    merger.encode(bytes, range, spacePrefix: addSpacePrefix && afterSpecial, index: textIndex,
                                  into: &output, workspace: &session.sentencePiece)
                }
            }
            afterSpecial = false
        }
        return output
    }

    /// Scratch state of one `encode` call: decoded scalars, the per-call word cache and the BPE
    /// workspace.
    private struct EncodingSession {
        var scalars: [UInt32] = []
        var offsets: [Int] = []
        var ends: [Int] = []
        /// Word bytes → range of its tokens in the output array.
        var cache = WordCache()
        var workspace = BPEMerger.Workspace()
        var sentencePiece = SentencePieceMerger.Workspace()
    }

    /// Pre-tokenizes and BPE-encodes the raw text `bytes[range]` (valid UTF-8 starting and ending
    /// on character boundaries).
    private func encodeRaw(
        _ bytes: [UInt8], _ range: Range<Int>, merger: BPEMerger, into output: inout [Int32],
        session: inout EncodingSession, strategy: EncodingStrategy
    ) {
        session.scalars.removeAll(keepingCapacity: true)
        session.offsets.removeAll(keepingCapacity: true)
        var index = range.lowerBound
        while index < range.upperBound {
            let lead = bytes[index]
            session.offsets.append(index)
            var value: UInt32
            var width: Int
            switch lead {
            case 0..<0x80: value = UInt32(lead); width = 1
            case 0xC0..<0xE0: value = UInt32(lead & 0x1F); width = 2
            case 0xE0..<0xF0: value = UInt32(lead & 0x0F); width = 3
            default: value = UInt32(lead & 0x07); width = 4
            }
            width = min(width, range.upperBound - index)
            for offset in 1..<max(width, 1) {
                value = value << 6 | UInt32(bytes[index + offset] & 0x3F)
            }
            session.scalars.append(value)
            index += width
        }
        session.offsets.append(range.upperBound)
        session.ends.removeAll(keepingCapacity: true)
        preTokenizer.pieceEnds(session.scalars, into: &session.ends)

        var start = 0
        var hash: UInt64 = 0
        for end in session.ends {
            let lower = session.offsets[start]
            let upper = session.offsets[end]
            start = end
            let key = bytes[lower..<upper]
            switch strategy {
            case .cached:
                if upper - lower < Self.cacheMinimumBytes || bytes.count > Int(Int32.max) || output.count > Int(Int32.max) {
                    key.withUnsafeBufferPointer { word in
                        merger.encode(word, into: &output, workspace: &session.workspace)
                    }
                    continue
                }
                let found: Range<Int>? = bytes.withUnsafeBufferPointer { text in
                    hash = WordCache.hash(text, lower..<upper)
                    return session.cache.lookup(text, lower..<upper, hash: hash)
                }
                if let found {
                    for position in found { output.append(output[position]) }
                    continue
                }
                let before = output.count
                key.withUnsafeBufferPointer { word in
                    merger.encode(word, into: &output, workspace: &session.workspace)
                }
                session.cache.insert(lower..<upper, hash: hash, tokens: before..<output.count)
            case .uncached:
                key.withUnsafeBufferPointer { word in
                    merger.encode(word, into: &output, workspace: &session.workspace)
                }
            case .uncachedQueue:
                key.withUnsafeBufferPointer { word in
                    merger.encode(word, into: &output, workspace: &session.workspace, shortWordLimit: 1)
                }
            case .uncachedReference:
                key.withUnsafeBufferPointer { word in
                    merger.encodeReference(word, into: &output)
                }
            }
        }
    }
}

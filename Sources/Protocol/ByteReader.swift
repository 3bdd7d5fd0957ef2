/// Reads little-endian fields from a frame body, checking every length against the bytes
/// left before touching or allocating anything.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    private(set) var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    private mutating func take(_ count: Int, _ what: StaticString) throws(ProtocolError) -> Int {
        guard count >= 0, count <= remaining else {
            throw .malformed("truncated \(what): need \(count) bytes, \(remaining) left")
        }
        let start = index
        index += count
        return start
    }

    mutating func u8(_ what: StaticString) throws(ProtocolError) -> UInt8 {
        let i = try take(1, what)
        return bytes[i]
    }

    mutating func bool(_ what: StaticString) throws(ProtocolError) -> Bool {
        switch try u8(what) {
        case 0: return false
        case 1: return true
        case let v: throw ProtocolError(.badArgument, "\(what) must be 0 or 1, got \(v)")
        }
    }

    mutating func u16(_ what: StaticString) throws(ProtocolError) -> UInt16 {
        let i = try take(2, what)
        return UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }

    mutating func u32(_ what: StaticString) throws(ProtocolError) -> UInt32 {
        let i = try take(4, what)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[i + k]) << UInt32(8 * k) }
        return v
    }

    mutating func u64(_ what: StaticString) throws(ProtocolError) -> UInt64 {
        let i = try take(8, what)
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << UInt64(8 * k) }
        return v
    }

    mutating func f32(_ what: StaticString) throws(ProtocolError) -> Float {
        Float(bitPattern: try u32(what))
    }

    /// Reads `count` consecutive binary32 values; `count` must already be limit-checked.
    mutating func floats(count: Int, _ what: StaticString) throws(ProtocolError) -> [Float] {
        guard count <= remaining / 4 else {
            throw .malformed("truncated \(what): need \(count) floats, \(remaining) bytes left")
        }
        let start = try take(count * 4, what)
        let offset = start - bytes.startIndex
        return bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: offset + i * 4, as: UInt32.self)
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                initialized = count
            }
        }
    }

    /// A slice of the next `count` bytes, sharing the frame's storage (no copy).
    mutating func slice(count: Int, _ what: StaticString) throws(ProtocolError) -> ArraySlice<UInt8> {
        let start = try take(count, what)
        return bytes[start..<(start + count)]
    }

    /// Reads a `u32` element count, checks it against `limit` (→ `limitExceeded`) and
    /// against the bytes left given each element's minimum wire size (→ `malformedFrame`).
    mutating func count(
        _ what: StaticString, limit: UInt32, minimumElementBytes: Int
    ) throws(ProtocolError) -> Int {
        let n = try u32(what)
        return try checkCount(n, what, limit: limit, minimumElementBytes: minimumElementBytes)
    }

    func checkCount(
        _ n: UInt32, _ what: StaticString, limit: UInt32, minimumElementBytes: Int
    ) throws(ProtocolError) -> Int {
        guard n <= limit else {
            throw ProtocolError(.limitExceeded, "\(what) \(n) exceeds the limit \(limit)")
        }
        let count = Int(n)
        if minimumElementBytes > 0, count > remaining / minimumElementBytes {
            throw .malformed("\(what) \(n) inconsistent with the \(remaining) bytes left")
        }
        return count
    }

    mutating func sessionName(_ what: StaticString) throws(ProtocolError) -> String {
        let length = Int(try u8(what))
        let utf8 = try slice(count: length, what)
        try SessionName.validate(utf8: utf8)
        // Validated above, so this cannot fail.
        return String(decoding: utf8, as: UTF8.self)
    }

    mutating func blockID(_ what: StaticString) throws(ProtocolError) -> BlockID {
        let high = try u64(what)
        let low = try u64(what)
        return BlockID(high: high, low: low)
    }

    mutating func prefixHash(_ what: StaticString) throws(ProtocolError) -> PrefixHash {
        let high = try u64(what)
        let low = try u64(what)
        return PrefixHash(high: high, low: low)
    }

    mutating func blockIDs(count: Int, _ what: StaticString) throws(ProtocolError) -> [BlockID] {
        guard count <= remaining / 16 else {
            throw .malformed("truncated \(what): need \(count) ids, \(remaining) bytes left")
        }
        var ids: [BlockID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(try blockID(what)) }
        return ids
    }

    /// Reads a `u32`-length-prefixed byte string (no copy), bounded by the bytes left.
    mutating func byteString(_ what: StaticString) throws(ProtocolError) -> ArraySlice<UInt8> {
        let n = try u32(what)
        guard Int(n) <= remaining else {
            throw .malformed("\(what) length \(n) exceeds the \(remaining) bytes left")
        }
        return try slice(count: Int(n), what)
    }

    /// Reads the rest of the body as UTF-8 (invalid sequences are replaced).
    mutating func restAsString(maxBytes: Int) -> String {
        let n = min(remaining, maxBytes)
        let s = bytes[index..<(index + n)]
        index = bytes.endIndex
        return String(decoding: s, as: UTF8.self)
    }

    /// Fails with `malformedFrame` unless every byte was consumed.
    func expectEnd(_ what: StaticString) throws(ProtocolError) {
        guard remaining == 0 else {
            throw .malformed("\(remaining) trailing bytes after \(what)")
        }
    }
}

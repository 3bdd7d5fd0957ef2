import CoreTypes

/// The reader of frame bodies: CoreTypes' little-endian reader over a frame's bytes, failing
/// with ``ProtocolError`` (`malformedFrame` when a field runs past the end).
typealias WireReader = ByteReader<ArraySlice<UInt8>, ProtocolError>

extension ProtocolError: ByteReaderFailure {
    /// `malformedFrame`: `what` needed `needed` bytes, `remaining` were left.
    public static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> ProtocolError {
        .malformed("truncated \(what): need \(needed) bytes, \(remaining) left")
    }
}

// The wire's own field kinds, on top of CoreTypes' integers, floats and ids.
extension ByteReader where Bytes == ArraySlice<UInt8>, Failure == ProtocolError {
    /// One byte that must be 0 (false) or 1 (true); else `badArgument`.
    mutating func bool(_ what: StaticString) throws(ProtocolError) -> Bool {
        switch try u8(what) {
        case 0: return false
        case 1: return true
        case let v: throw ProtocolError(.badArgument, "\(what) must be 0 or 1, got \(v)")
        }
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

    /// A `u8`-length-prefixed UTF-8 session name, validated (``SessionName``).
    mutating func sessionName(_ what: StaticString) throws(ProtocolError) -> String {
        let length = Int(try u8(what))
        let utf8 = try slice(count: length, what)
        try SessionName.validate(utf8: utf8)
        // Validated above, so this cannot fail.
        return String(decoding: utf8, as: UTF8.self)
    }

    /// `count` block ids (16 bytes each); `count` must already be limit-checked.
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

    /// Reads the rest of the body as UTF-8 (invalid sequences are replaced), at most
    /// `maxBytes` of it; the whole rest is consumed.
    mutating func restAsString(maxBytes: Int) -> String {
        let s = rest().prefix(maxBytes)
        return String(decoding: s, as: UTF8.self)
    }

    /// Fails with `malformedFrame` unless every byte was consumed.
    func expectEnd(_ what: StaticString) throws(ProtocolError) {
        guard remaining == 0 else {
            throw .malformed("\(remaining) trailing bytes after \(what)")
        }
    }
}

extension ByteWriter {
    /// Appends a `u8`-length-prefixed UTF-8 session name after validating it.
    mutating func sessionName(_ name: String) throws(ProtocolError) {
        let utf8 = Array(name.utf8)
        try SessionName.validate(utf8: utf8[...])
        u8(UInt8(utf8.count))
        raw(utf8)
    }

    /// Appends a `u32`-length-prefixed byte string.
    mutating func byteString(_ data: ArraySlice<UInt8>) throws(ProtocolError) {
        guard data.count <= Int(UInt32.max) else {
            throw ProtocolError(.frameTooLarge, "byte string of \(data.count) bytes")
        }
        u32(UInt32(data.count))
        raw(data)
    }
}

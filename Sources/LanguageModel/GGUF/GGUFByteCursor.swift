import CoreTypes

/// A bounds-checked little-endian reader over the bytes of a GGUF file (CoreTypes' `ByteReader`
/// plus GGUF's strings and counts). Every read checks the remaining length first and throws
/// ``GGUFError/truncated(offset:needed:fileSize:)`` instead of reading past the end.
struct GGUFByteCursor {
    private var reader: ByteReader<UnsafeRawBufferPointer, GGUFError>

    init(base: UnsafeRawPointer?, size: Int) {
        reader = ByteReader(UnsafeRawBufferPointer(start: base, count: size))
    }

    /// Total bytes available.
    var size: Int { reader.bytes.count }
    /// Next byte to read (from the start of the file).
    var offset: Int { reader.index }
    /// Bytes left after `offset`.
    var remaining: Int { reader.remaining }

    /// Reads a little-endian fixed-width integer.
    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try reader.integer(T.self)
    }

    /// Reads a GGUF string: UInt64 byte length, then that many UTF-8 bytes (no terminator).
    /// The length is checked against the remaining bytes before anything is allocated.
    mutating func readString() throws(GGUFError) -> String {
        let lengthOffset = offset
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else {
            throw .implausibleCount(what: "string length", count: length, offset: lengthOffset)
        }
        let bytes = try reader.slice(count: Int(length), "string")
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
    }

    /// Reads a count and checks that `count * minimumBytesEach` bytes could still follow.
    mutating func readCount(what: String, minimumBytesEach: Int) throws(GGUFError) -> Int {
        let countOffset = offset
        let count = try read(UInt64.self)
        guard count <= UInt64(remaining / max(minimumBytesEach, 1)) else {
            throw .implausibleCount(what: what, count: count, offset: countOffset)
        }
        return Int(count)
    }
}

extension GGUFError: ByteReaderFailure {
    /// ``truncated(offset:needed:fileSize:)``.
    public static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> GGUFError {
        .truncated(offset: offset, needed: needed, fileSize: offset + remaining)
    }
}

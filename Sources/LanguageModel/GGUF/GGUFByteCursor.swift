/// A bounds-checked little-endian reader over the bytes of a GGUF file. Every read checks the
/// remaining length first and throws ``GGUFError/truncated(offset:needed:fileSize:)`` instead of
/// reading past the end.
struct GGUFByteCursor {
    let base: UnsafeRawPointer?
    /// Total bytes available.
    let size: Int
    /// Next byte to read (from the start of the file).
    private(set) var offset: Int = 0

    init(base: UnsafeRawPointer?, size: Int) {
        self.base = base
        self.size = size
    }

    /// Bytes left after `offset`.
    var remaining: Int { size - offset }

    /// Throws unless `count` more bytes are available.
    func require(_ count: Int) throws(GGUFError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(offset: offset, needed: count, fileSize: size)
        }
    }

    /// Reads a little-endian fixed-width integer.
    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size)
        let value = base!.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// Reads a GGUF string: UInt64 byte length, then that many UTF-8 bytes (no terminator).
    /// The length is checked against the remaining bytes before anything is allocated.
    mutating func readString() throws(GGUFError) -> String {
        let lengthOffset = offset
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else {
            throw .implausibleCount(what: "string length", count: length, offset: lengthOffset)
        }
        let count = Int(length)
        let bytes = UnsafeRawBufferPointer(start: base! + offset, count: count)
        offset += count
        return String(decoding: bytes, as: UTF8.self)
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

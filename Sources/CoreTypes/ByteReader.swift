/// The error a ``ByteReader`` throws when a field runs past the end of its bytes. Each user
/// supplies its own error type (the wire's `ProtocolError`, the store's `StoreError`), so a
/// decoder throws one typed error without mapping at every read.
public protocol ByteReaderFailure: Error {
    /// Reading `what` at `offset` (from the first byte) needed `needed` bytes but only
    /// `remaining` were left.
    static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> Self
}

/// A ``ByteReaderFailure`` for callers without an error type of their own: where the bytes ran
/// out and how many were missing.
public struct TruncatedBytes: ByteReaderFailure, Sendable, Hashable {
    /// Offset of the read that failed, from the first byte.
    public var offset: Int
    /// Bytes the read needed.
    public var needed: Int
    /// Bytes that were left.
    public var remaining: Int

    /// Creates a failure record.
    public init(offset: Int, needed: Int, remaining: Int) {
        self.offset = offset
        self.needed = needed
        self.remaining = remaining
    }

    public static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> TruncatedBytes {
        TruncatedBytes(offset: offset, needed: needed, remaining: remaining)
    }
}

/// Reads little-endian fields from `bytes` (a frame body, a stored record), checking every
/// length against the bytes left before touching or allocating anything. Every failed read
/// throws `Failure.truncated` and consumes nothing.
///
/// `Bytes` is any random-access byte collection indexed by `Int` (`ArraySlice<UInt8>`,
/// `UnsafeRawBufferPointer`); ``slice(count:_:)`` returns a slice sharing its storage.
public struct ByteReader<Bytes: RandomAccessCollection, Failure: ByteReaderFailure>
where Bytes.Element == UInt8, Bytes.Index == Int {
    /// The bytes read from.
    public let bytes: Bytes
    /// Index in `bytes` of the next unread byte.
    @inlinable
    public var index: Int { position }
    @usableFromInline
    var position: Int

    /// Starts reading at the first byte of `bytes`.
    @inlinable
    public init(_ bytes: Bytes, failure: Failure.Type = Failure.self) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    /// Bytes not read yet.
    @inlinable
    public var remaining: Int { bytes.endIndex - index }

    /// Consumes `count` bytes and returns the index of the first; throws when fewer are left.
    @inlinable
    public mutating func take(_ count: Int, _ what: StaticString) throws(Failure) -> Int {
        guard count >= 0, count <= remaining else {
            throw Failure.truncated(what, at: position - bytes.startIndex, needed: count, remaining: remaining)
        }
        let start = position
        position += count
        return start
    }

    @inlinable
    public mutating func u8(_ what: StaticString = "u8") throws(Failure) -> UInt8 {
        let i = try take(1, what)
        return bytes[i]
    }

    /// A little-endian integer of `T`'s width (two's complement for a signed `T`).
    @inlinable
    public mutating func integer<T: FixedWidthInteger>(_: T.Type, _ what: StaticString = "integer") throws(Failure) -> T {
        let width = MemoryLayout<T>.size
        let i = try take(width, what)
        var v: T = 0
        for k in 0..<width { v |= T(truncatingIfNeeded: bytes[i + k]) << (8 * k) }
        return v
    }

    @inlinable
    public mutating func u16(_ what: StaticString = "u16") throws(Failure) -> UInt16 { try integer(UInt16.self, what) }

    @inlinable
    public mutating func u32(_ what: StaticString = "u32") throws(Failure) -> UInt32 { try integer(UInt32.self, what) }

    @inlinable
    public mutating func u64(_ what: StaticString = "u64") throws(Failure) -> UInt64 { try integer(UInt64.self, what) }

    /// An IEEE-754 binary32 value.
    @inlinable
    public mutating func f32(_ what: StaticString = "f32") throws(Failure) -> Float {
        Float(bitPattern: try u32(what))
    }

    /// `count` consecutive binary32 values (4 · count bytes).
    @inlinable
    public mutating func floats(count: Int, _ what: StaticString = "floats") throws(Failure) -> [Float] {
        guard count >= 0, count <= remaining / 4 else {
            let needed = count.multipliedReportingOverflow(by: 4)
            throw Failure.truncated(
                what, at: position - bytes.startIndex, needed: needed.overflow ? Int.max : needed.partialValue, remaining: remaining)
        }
        let start = try take(count * 4, what)
        let offset = start - bytes.startIndex
        let contiguous: [Float]? = bytes.withContiguousStorageIfAvailable { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                for i in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: offset + i * 4, as: UInt32.self)
                    out[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                initialized = count
            }
        }
        if let contiguous { return contiguous }
        return (0..<count).map { i in
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(bytes[start + 4 * i + k]) << UInt32(8 * k) }
            return Float(bitPattern: v)
        }
    }

    /// The next `count` bytes as a slice sharing `bytes`' storage (no copy).
    @inlinable
    public mutating func slice(count: Int, _ what: StaticString = "bytes") throws(Failure) -> Bytes.SubSequence {
        let start = try take(count, what)
        return bytes[start..<(start + count)]
    }

    /// Every byte not read yet (possibly none); afterwards ``remaining`` is 0.
    @inlinable
    public mutating func rest() -> Bytes.SubSequence {
        let start = position
        position = bytes.endIndex
        return bytes[start..<bytes.endIndex]
    }

    /// A 128-bit block id: `high u64 LE` then `low u64 LE`.
    @inlinable
    public mutating func blockID(_ what: StaticString = "block id") throws(Failure) -> BlockID {
        let high = try u64(what)
        let low = try u64(what)
        return BlockID(high: high, low: low)
    }

    /// A 128-bit prefix hash: `high u64 LE` then `low u64 LE`.
    @inlinable
    public mutating func prefixHash(_ what: StaticString = "prefix hash") throws(Failure) -> PrefixHash {
        let high = try u64(what)
        let low = try u64(what)
        return PrefixHash(high: high, low: low)
    }
}

import CoreTypes

/// Fixed-offset integer access for the on-disk encodings (docs/STORAGE.md): little-endian loads
/// at known offsets of a stored record, and the big-endian LMDB keys (big-endian so that keys
/// sort by session, layer, position). Records read or written field by field go through
/// CoreTypes' `ByteWriter` and ``RecordReader``.
enum ByteCoding {
    static func putBE(_ v: UInt64, into a: inout [UInt8], at i: Int) {
        for k in 0..<8 { a[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(7 - k))) }
    }
    static func putBE(_ v: UInt32, into a: inout [UInt8], at i: Int) {
        for k in 0..<4 { a[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(3 - k))) }
    }
    static func uint64(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
    static func uint32(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
    static func uint64BE(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt64 {
        UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
    static func uint32BE(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt32 {
        UInt32(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
}

/// The reader of stored records: CoreTypes' little-endian reader over an LMDB value, failing
/// with ``StoreError/corrupt`` when a field runs past the end.
typealias RecordReader = ByteReader<UnsafeRawBufferPointer, StoreError>

extension StoreError: ByteReaderFailure {
    /// Always ``corrupt``: a stored record shorter than its fields is damaged.
    public static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> StoreError {
        .corrupt
    }
}

/// Little- and big-endian integer helpers for the on-disk encodings (docs/STORAGE.md).
enum ByteCoding {
    static func put(_ v: UInt64, into a: inout [UInt8], at i: Int) {
        for k in 0..<8 { a[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }
    static func put(_ v: UInt32, into a: inout [UInt8], at i: Int) {
        for k in 0..<4 { a[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }
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

/// A growing little-endian byte writer.
struct ByteWriter {
    var bytes: [UInt8] = []
    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xff)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
    mutating func u64(_ v: UInt64) { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

/// A bounds-checked little-endian byte reader; every read past the end throws `.corrupt`.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0
    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }
    var remaining: Int { buffer.count - offset }
    mutating func need(_ n: Int) throws(StoreError) {
        guard n >= 0, remaining >= n else { throw .corrupt }
    }
    mutating func u8() throws(StoreError) -> UInt8 {
        try need(1); defer { offset += 1 }; return buffer[offset]
    }
    mutating func u16() throws(StoreError) -> UInt16 {
        try need(2); defer { offset += 2 }
        return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    mutating func u32() throws(StoreError) -> UInt32 {
        try need(4); defer { offset += 4 }; return ByteCoding.uint32(buffer, at: offset)
    }
    mutating func u64() throws(StoreError) -> UInt64 {
        try need(8); defer { offset += 8 }; return ByteCoding.uint64(buffer, at: offset)
    }
    mutating func f32() throws(StoreError) -> Float { Float(bitPattern: try u32()) }
}

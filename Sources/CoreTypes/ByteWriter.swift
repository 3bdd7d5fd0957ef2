/// Appends little-endian fields to a growing byte array (the encoder side of ``ByteReader``).
public struct ByteWriter: Sendable {
    /// Everything written so far.
    public var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    @inlinable
    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    /// One byte, 1 for true and 0 for false.
    @inlinable
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// `value` little-endian, in its type's width (two's complement for a signed `T`).
    @inlinable
    public mutating func integer<T: FixedWidthInteger>(_ value: T) {
        for k in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * k))) }
    }

    @inlinable
    public mutating func u16(_ value: UInt16) { integer(value) }

    @inlinable
    public mutating func u32(_ value: UInt32) { integer(value) }

    @inlinable
    public mutating func u64(_ value: UInt64) { integer(value) }

    /// An IEEE-754 binary32 value.
    @inlinable
    public mutating func f32(_ value: Float) { u32(value.bitPattern) }

    /// `values` as consecutive binary32 values (no count).
    @inlinable
    public mutating func floats<C: Collection>(_ values: C) where C.Element == Float {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: values.count * 4))
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + i * 4, as: UInt32.self)
            }
        }
    }

    /// Zero bytes up to the next multiple of `alignment` (> 0) of the bytes written.
    @inlinable
    public mutating func pad(toMultipleOf alignment: Int) {
        let padded = (bytes.count + alignment - 1) / alignment * alignment
        bytes.append(contentsOf: repeatElement(0, count: padded - bytes.count))
    }

    /// `data` as is (no length).
    @inlinable
    public mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// A 128-bit block id: `high u64 LE` then `low u64 LE`.
    @inlinable
    public mutating func blockID(_ id: BlockID) {
        u64(id.high)
        u64(id.low)
    }

    /// A 128-bit prefix hash: `high u64 LE` then `low u64 LE`.
    @inlinable
    public mutating func prefixHash(_ hash: PrefixHash) {
        u64(hash.high)
        u64(hash.low)
    }
}

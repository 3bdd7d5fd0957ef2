/// Appends little-endian fields to a growing byte array.
struct ByteWriter {
    var bytes: [UInt8]

    init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func f32(_ value: Float) { u32(value.bitPattern) }

    /// Appends `values` as consecutive little-endian IEEE-754 binary32 values (no count).
    mutating func floats(_ values: [Float]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: values.count * 4))
        bytes.withUnsafeMutableBytes { raw in
            values.withUnsafeBufferPointer { src in
                for (i, v) in src.enumerated() {
                    raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + i * 4, as: UInt32.self)
                }
            }
        }
    }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Appends a `u8`-length-prefixed UTF-8 session name after validating it.
    mutating func sessionName(_ name: String) throws(ProtocolError) {
        let utf8 = Array(name.utf8)
        try SessionName.validate(utf8: utf8[...])
        u8(UInt8(utf8.count))
        raw(utf8)
    }

    mutating func blockID(_ id: BlockID) {
        u64(id.high)
        u64(id.low)
    }

    mutating func prefixHash(_ hash: PrefixHash) {
        u64(hash.high)
        u64(hash.low)
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

/// Redis Cluster's key → hash slot mapping (the specification's "Keys distribution model"):
/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, not reflected) of the key — or of its
/// hash tag, the bytes between the first `{` and the first `}` after it when that span is not
/// empty — modulo 16384.
public enum HashSlot {
    /// Number of slots.
    public static let count = 16384

    /// The slot of `key`.
    public static func of<Key: Collection<UInt8>>(_ key: Key) -> Int {
        var hashed = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                hashed = key[afterOpen..<close]
            }
        }
        return Int(crc16(hashed)) & (count - 1)
    }

    /// The slot of a UTF-8 key.
    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    /// CRC-16/XMODEM (check value: "123456789" → 0x31C3).
    static func crc16<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

import Testing
@testable import ActQKV

@Suite("CRC32")
struct CRC32Tests {
    /// The classic one-table, one-byte-at-a-time CRC-32.
    static func bytewise(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    @Test("the standard check values: \"123456789\" → CBF43926, empty → 0, zlib's \"hello\"")
    func checkValues() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("hello".utf8)) == 0x3610_A686)
    }

    @Test("slicing-by-8 equals the bit-by-bit definition for every length 0…64 and unaligned slices")
    func matchesTheDefinition() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let data = (0..<4099).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for n in 0...64 { #expect(CRC32.checksum(Array(data[..<n])) == Self.bytewise(Array(data[..<n])), "length \(n)") }
        for start in 1..<8 {
            let slice = data[start..<(start + 1000 + start)]
            #expect(CRC32.checksum(slice) == Self.bytewise(Array(slice)), "offset \(start)")
        }
        #expect(CRC32.checksum(data) == Self.bytewise(data))
    }
}

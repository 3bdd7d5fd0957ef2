import CoreTypes

/// FNV-1a with 128-bit state (Fowler–Noll–Vo; offset basis 0x6c62272e07bb014262b821756295c58d,
/// prime 2^88 + 2^8 + 0x3b), used for block identity. Multi-byte integers are fed little-endian.
struct FNV1a128 {
    private(set) var high: UInt64 = 0x6c62_272e_07bb_0142
    private(set) var low: UInt64 = 0x62b8_2175_6295_c58d

    /// The prime's lower 64 bits; its upper 64 bits are 2^24.
    private static let primeLow: UInt64 = 0x13b

    mutating func add(byte: UInt8) {
        low ^= UInt64(byte)
        // (high, low) * (2^24 << 64 + 0x13b) mod 2^128
        let product = low.multipliedFullWidth(by: FNV1a128.primeLow)
        let newHigh = product.high &+ high &* FNV1a128.primeLow &+ (low << 24)
        low = product.low
        high = newHigh
    }

    mutating func add(bytes: some Sequence<UInt8>) {
        for b in bytes { add(byte: b) }
    }

    mutating func add(_ v: UInt8) { add(byte: v) }
    mutating func add(_ v: UInt32) { for i in 0..<4 { add(byte: UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func add(_ v: UInt64) { for i in 0..<8 { add(byte: UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }

    var value: BlockID { BlockID(high: high, low: low) }
}

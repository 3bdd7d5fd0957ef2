/// A streaming 128-bit FNV-1a hash (prime 2^88 + 2^8 + 0x3b) over 32-bit words: the identity of
/// everything a stored block's contents depend on (configuration, token ids, chunk boundaries and
/// the question-span mark), so that two sessions computing the same prefix the same way name
/// their blocks identically.
public struct PrefixHasher: Sendable, Hashable {
    /// High and low 64 bits of the state.
    public private(set) var high: UInt64
    public private(set) var low: UInt64

    /// The FNV-1a-128 offset basis.
    public init() { high = 0x6c62272e07bb0142; low = 0x62b821756295c58d }
    /// Restores a saved state.
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    /// Absorbs one 32-bit word (4 little-endian bytes).
    public mutating func absorb(_ word: UInt32) {
        for i in 0..<4 {
            low ^= UInt64((word >> (8 * UInt32(i))) & 0xFF)
            multiplyByPrime()
        }
    }

    /// Absorbs a 64-bit value as two words.
    public mutating func absorb64(_ value: UInt64) {
        absorb(UInt32(truncatingIfNeeded: value)); absorb(UInt32(truncatingIfNeeded: value >> 32))
    }

    private mutating func multiplyByPrime() {
        // x · (2^88 + 0x13b) mod 2^128.
        let (h1, l1) = low.multipliedFullWidth(by: 0x13b)
        var newHigh = high &* 0x13b &+ h1
        newHigh &+= low << 24  // low · 2^88 contributes low << 24 to the high word
        high = newHigh
        low = l1
    }
}

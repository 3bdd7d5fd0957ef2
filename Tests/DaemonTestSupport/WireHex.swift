import CoreTypes

// Wire bytes as hex, the way docs/protocol-vectors and the Python client (kvd_client) write
// them: upper-case, an id or hash as its 16 wire bytes (high u64 LE, then low u64 LE, §1).

/// Upper-case hex of `bytes`.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
    return String(decoding: out, as: UTF8.self)
}

/// The bytes `hex` spells (either case); nil when it is not an even number of hex digits.
public func hexBytes(_ hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    for i in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        out.append(byte)
    }
    return out
}

/// The two halves of a 16-byte wire id or hash; nil for another length or non-hex.
private func wireHalves(_ hex: String) -> (high: UInt64, low: UInt64)? {
    guard let b = hexBytes(hex), b.count == 16 else { return nil }
    func le(_ s: ArraySlice<UInt8>) -> UInt64 { s.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    return (le(b[0..<8]), le(b[8..<16]))
}

private func wireHex(_ high: UInt64, _ low: UInt64) -> String {
    hexString(withUnsafeBytes(of: high.littleEndian, Array.init) + withUnsafeBytes(of: low.littleEndian, Array.init))
}

extension BlockID {
    /// The id whose 16 wire bytes `wireHex` spells; nil when it does not.
    public init?(wireHex: String) {
        guard let (high, low) = wireHalves(wireHex) else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 wire bytes as hex.
    public var wireHex: String { DaemonTestSupport.wireHex(high, low) }
}

extension PrefixHash {
    /// The hash whose 16 wire bytes `wireHex` spells; nil when it does not.
    public init?(wireHex: String) {
        guard let (high, low) = wireHalves(wireHex) else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 wire bytes as hex.
    public var wireHex: String { DaemonTestSupport.wireHex(high, low) }
}

extension Array where Element == Float {
    /// The floats' wire bytes (f32 little-endian, §1).
    public var wireBytes: [UInt8] { flatMap { Swift.withUnsafeBytes(of: $0.bitPattern.littleEndian, [UInt8].init) } }
}

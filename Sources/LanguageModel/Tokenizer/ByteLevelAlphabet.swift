/// GPT-2's reversible mapping between the 256 byte values and 256 printable Unicode scalars,
/// used to store arbitrary bytes in token texts.
///
/// Bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` map to the scalar with the same value; the remaining 68
/// bytes (control characters, space, …) map, in increasing byte order, to U+0100, U+0101, ….
/// So a space (0x20) is `Ġ` (U+0120) and a newline (0x0A) is `Ċ` (U+010A).
enum ByteLevelAlphabet {
    /// Scalar value for each byte (index = byte).
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// Byte for a scalar of the alphabet, or `nil` if the scalar is not one of the 256.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            let byte = Int(scalar)
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                return UInt8(byte)
            }
            return nil
        }
        return reverseHigh[scalar]
    }

    private static let reverseHigh: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for byte in 0..<256 where scalarForByte[byte] >= 256 {
            map[scalarForByte[byte]] = UInt8(byte)
        }
        return map
    }()

    /// The byte-encoded token text of a single raw byte (e.g. `"Ġ"` for 0x20).
    static func text(forByte byte: UInt8) -> String {
        String(Character(Unicode.Scalar(scalarForByte[Int(byte)])!))
    }

    /// Decodes a byte-encoded token text to its raw bytes, or `nil` if a character of the text is
    /// outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(for: scalar.value) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// The character classes the GPT-2 family of pre-tokenizer rules distinguishes, per Unicode
/// scalar, with llama.cpp's definitions:
///
/// - letter: general category L (Lu, Ll, Lt, Lm, Lo) — the regex `\p{L}`;
/// - number: general category N (Nd, Nl, No) — the regex `\p{N}`;
/// - whitespace: the Unicode `White_Space` property list (U+0009…U+000D, U+0020, U+0085, U+00A0,
///   U+1680, U+2000…U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) — the regex `\s`;
/// - everything else (marks, punctuation, symbols, separators that are not white space, controls,
///   format characters such as U+200D, private use and unassigned scalars) is "other".
///
/// The categories come from the Swift standard library's Unicode data, limited to the Unicode
/// version of llama.cpp's generated tables (``unicodeVersion``, 15.1): a scalar assigned later
/// counts as unassigned, i.e. "other", as it does in llama.cpp (e.g. U+1C89, a Cyrillic capital
/// letter of Unicode 16, is not a letter there).
struct CodepointClass: Sendable, Equatable {
    /// Bit set: ``letterBit``, ``numberBit``, ``whitespaceBit``.
    let bits: UInt8

    static let letterBit: UInt8 = 1
    static let numberBit: UInt8 = 2
    static let whitespaceBit: UInt8 = 4

    var isLetter: Bool { bits & Self.letterBit != 0 }
    var isNumber: Bool { bits & Self.numberBit != 0 }
    var isWhitespace: Bool { bits & Self.whitespaceBit != 0 }

    /// Class of a scalar value (values above U+10FFFF are "other").
    @inline(__always)
    static func of(_ scalar: UInt32) -> CodepointClass {
        if scalar < 0x10000 { return CodepointClass(bits: bmpTable[Int(scalar)]) }
        return CodepointClass(bits: compute(scalar))
    }

    /// Classes of the Basic Multilingual Plane, computed once on first use (64 KiB).
    private static let bmpTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            table[value] = compute(UInt32(value))
        }
        return table
    }()

    /// The Unicode version of llama.cpp's `unicode-data.cpp` (it has CJK Extension I, new in
    /// 15.1, and none of 16.0's additions).
    static let unicodeVersion = (major: 15, minor: 1)

    private static func compute(_ value: UInt32) -> UInt8 {
        var bits: UInt8 = 0
        if isWhiteSpace(value) { bits |= whitespaceBit }
        guard let scalar = Unicode.Scalar(value) else { return bits }  // surrogates, out of range
        guard let age = scalar.properties.age,
              (age.major, age.minor) <= (unicodeVersion.major, unicodeVersion.minor)
        else { return bits }  // unassigned in llama.cpp's tables
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            bits |= letterBit
        case .decimalNumber, .letterNumber, .otherNumber:
            bits |= numberBit
        default:
            break
        }
        return bits
    }

    /// llama.cpp's white-space set (Unicode's `White_Space` property).
    private static func isWhiteSpace(_ value: UInt32) -> Bool {
        switch value {
        case 0x0009...0x000D, 0x0020, 0x0085, 0x00A0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default:
            false
        }
    }
}

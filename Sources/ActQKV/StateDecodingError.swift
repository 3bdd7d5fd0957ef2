/// Why an encoded ``RetrievalState`` was rejected. ``code`` is stable.
public enum StateDecodingError: Error, Sendable, Hashable {
    /// The bytes end before the structure does (`needed` more bytes at `offset`).
    case truncated(offset: Int, needed: Int)
    /// The first four bytes are not "AQRS".
    case badMagic
    /// An encoding version this build does not read.
    case unsupportedVersion(UInt16)
    /// The CRC-32 trailer does not match the content (corruption).
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// Bytes remain after the structure.
    case trailingBytes(count: Int)
    /// The encoded configuration is invalid.
    case invalidConfig(ConfigError)
    /// A field holds an impossible value (unknown enum raw value, inconsistent count, …).
    case invalidField(String)

    /// Stable numeric code (3xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .truncated: 301
        case .badMagic: 302
        case .unsupportedVersion: 303
        case .checksumMismatch: 304
        case .trailingBytes: 305
        case .invalidConfig: 306
        case .invalidField: 307
        }
    }
}

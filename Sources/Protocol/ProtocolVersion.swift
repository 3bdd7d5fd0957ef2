/// Protocol identity constants exchanged in the handshake.
public enum ProtocolVersion {
    /// The four magic bytes that open every `hello` body: `"KVD\0"`.
    public static let magic: [UInt8] = [0x4B, 0x56, 0x44, 0x00]
    /// The protocol version described by docs/PROTOCOL.md.
    public static let current: UInt16 = 1
    /// Every version this implementation speaks.
    public static let supported: ClosedRange<UInt16> = 1...1
}

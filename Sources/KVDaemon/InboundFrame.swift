import NIOCore

/// One complete frame as split from the byte stream, before its body is decoded.
/// Layout on the wire (little-endian): `u32 length` (bytes after this field) | `u16 type` |
/// `u16 flags` | `u64 request id` | body (`length - 12` bytes).
struct InboundFrame: Sendable {
    /// Bytes of header after the length field: type (2) + flags (2) + request id (8).
    static let headerBytes = 12

    /// Message type code.
    var type: UInt16
    /// Frame flags.
    var flags: UInt16
    /// The client's request id, echoed in the reply.
    var requestID: UInt64
    /// The message body (a slice of the receive buffer; no copy).
    var body: ByteBuffer
}

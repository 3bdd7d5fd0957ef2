import NIOCore
import Protocol

/// One complete frame as split from the byte stream, before its body is decoded (or with its
/// message, when the event loop decoded it already: ``decoded``).
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
    /// The request decoded by ``InlineRequestHandler``, which declined to answer it on the
    /// event loop (a retrieve with payloads, or over a large layer) and passed it on to the
    /// request loop: decoded once, in the connection state the loop takes it up in (nothing of
    /// the connection was in flight). Then `body` is empty. Nil: not decoded yet.
    var decoded: Message? = nil
}

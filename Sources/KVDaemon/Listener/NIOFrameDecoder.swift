import NIOCore
import Protocol

/// Splits a connection's byte stream into `InboundFrame`s (NIO side of the framing; the layout
/// and limits are the Protocol module's `FrameHeader`). The length prefix is validated *before*
/// any of the body is buffered, so a 4 GiB prefix costs nothing; at most
/// `maximumFrameBytes + 4` bytes of one frame are ever held. A bad prefix throws a
/// `ProtocolError` (`malformedFrame` or `frameTooLarge`); the connection answers it and closes.
///
/// Before the connection's handshake completed (``ConnectionState/handshakeDone``) the limit is
/// `handshakeFrameBytes` (64 KiB) instead, so a connection that never sends a valid `hello`
/// holds at most that much. Each frame is checked when its length prefix is read, after the
/// frames before it were delivered (and a `hello` among them answered on the event loop).
struct NIOFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    /// Largest accepted value of the length field (bytes after it), in bytes.
    let maximumFrameBytes: UInt32
    /// Largest accepted value of the length field before the handshake, in bytes
    /// (≤ `maximumFrameBytes`).
    let handshakeFrameBytes: UInt32
    /// The connection whose handshake state selects the limit; nil: always `maximumFrameBytes`.
    let connection: ConnectionState?

    init(maximumFrameBytes: UInt32, handshakeFrameBytes: UInt32? = nil, connection: ConnectionState? = nil) {
        self.maximumFrameBytes = maximumFrameBytes
        self.handshakeFrameBytes = min(handshakeFrameBytes ?? maximumFrameBytes, maximumFrameBytes)
        self.connection = connection
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        if let connection, length > handshakeFrameBytes, !connection.handshakeDone {
            throw ProtocolError(.frameTooLarge, "frame length \(length) exceeds the maximum \(handshakeFrameBytes) before the handshake")
        }
        try FrameHeader.validate(length: length, maxFrameBytes: maximumFrameBytes)
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard
            let type = buffer.readInteger(endianness: .little, as: UInt16.self),
            let flags = buffer.readInteger(endianness: .little, as: UInt16.self),
            let requestID = buffer.readInteger(endianness: .little, as: UInt64.self),
            let body = buffer.readSlice(length: Int(length) - InboundFrame.headerBytes)
        else {
            preconditionFailure("length was checked against readable bytes")
        }
        context.fireChannelRead(wrapInboundOut(InboundFrame(type: type, flags: flags, requestID: requestID, body: body)))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // Complete frames still buffered are delivered; a partial frame left by a client that
        // vanished mid-frame is dropped with the connection.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.clear()
        return .needMoreData
    }
}

import NIOCore

/// Why the byte stream of a connection cannot be split into frames. The connection is answered
/// with a typed error (when possible) and closed; nothing of it is buffered further.
enum FrameSplitError: Error, Sendable, Equatable {
    /// The length prefix is smaller than the fixed header.
    case frameTooShort(declaredLength: UInt32)
    /// The length prefix exceeds the negotiated maximum frame size.
    case frameTooLarge(declaredLength: UInt32, limit: Int)
}

/// Splits a connection's byte stream into `InboundFrame`s. A length prefix is checked against
/// the hard limit *before* any of the body is buffered, so a 4 GiB prefix costs nothing; at most
/// `maximumFrameBytes + 4` bytes of one frame are ever held.
struct FrameSplitter: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    /// Largest accepted value of the length field (bytes after it), in bytes.
    let maximumFrameBytes: Int

    init(maximumFrameBytes: Int) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) >= InboundFrame.headerBytes else {
            throw FrameSplitError.frameTooShort(declaredLength: length)
        }
        guard Int(length) <= maximumFrameBytes else {
            throw FrameSplitError.frameTooLarge(declaredLength: length, limit: maximumFrameBytes)
        }
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

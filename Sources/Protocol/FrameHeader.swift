import CoreTypes

/// The fixed 16-byte frame header: `length u32 | type u16 | flags u16 | requestID u64`, all
/// little-endian. `length` counts the bytes after the length field (12 header bytes + body).
public struct FrameHeader: Sendable, Hashable {
    /// Bytes of the length prefix.
    public static let lengthFieldBytes = 4
    /// Bytes of the whole header including the length prefix.
    public static let byteCount = 16
    /// Smallest valid `length` value: the 12 header bytes after the length prefix.
    public static let minimumLength: UInt32 = 12

    /// Bytes after the length field (≥ 12, ≤ the receiver's maximum frame size).
    public var length: UInt32
    /// Raw message type (see ``MessageType``; unknown values are representable).
    public var rawType: UInt16
    /// Flags; reserved, sent as 0 and ignored on receipt in version 1.
    public var flags: UInt16
    /// The request id; a reply carries its request's id. 0 is reserved for connection-level
    /// errors the server sends before closing.
    public var requestID: UInt64

    /// Creates a header.
    public init(length: UInt32, rawType: UInt16, flags: UInt16 = 0, requestID: UInt64) {
        self.length = length
        self.rawType = rawType
        self.flags = flags
        self.requestID = requestID
    }

    /// Body bytes (length − 12).
    public var bodyBytes: Int { Int(length) - Int(Self.minimumLength) }
    /// Bytes of the whole frame on the wire (4 + length).
    public var frameBytes: Int { Self.lengthFieldBytes + Int(length) }
    /// The message type, when known.
    public var type: MessageType? { MessageType(rawValue: rawType) }

    /// Validates a length field: ``ErrorCode/malformedFrame`` when below 12,
    /// ``ErrorCode/frameTooLarge`` when above `maxFrameBytes`.
    public static func validate(length: UInt32, maxFrameBytes: UInt32) throws(ProtocolError) {
        guard length >= minimumLength else {
            throw .malformed("frame length \(length) is below the header size \(minimumLength)")
        }
        guard length <= maxFrameBytes else {
            throw ProtocolError(.frameTooLarge, "frame length \(length) exceeds the maximum \(maxFrameBytes)")
        }
    }

    /// Parses a header from the start of `buffer`.
    ///
    /// Returns nil when fewer than 16 bytes are available, but validates the length field as
    /// soon as its 4 bytes are there, so a hostile length is rejected before any body is
    /// awaited or allocated. Usable from any byte source (an `UnsafeRawBufferPointer` over a
    /// NIO `ByteBuffer`'s readable bytes, an array, …).
    public static func parse(
        _ buffer: UnsafeRawBufferPointer, maxFrameBytes: UInt32
    ) throws(ProtocolError) -> FrameHeader? {
        guard buffer.count >= lengthFieldBytes else { return nil }
        var r = ByteReader(buffer, failure: ProtocolError.self)
        let length = try r.u32("frame.length")
        try validate(length: length, maxFrameBytes: maxFrameBytes)
        guard buffer.count >= byteCount else { return nil }
        return FrameHeader(
            length: length, rawType: try r.u16("frame.type"), flags: try r.u16("frame.flags"),
            requestID: try r.u64("frame.requestID"))
    }

    /// Appends the 16 header bytes to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        var w = ByteWriter(reservingCapacity: 16)
        w.u32(length)
        w.u16(rawType)
        w.u16(flags)
        w.u64(requestID)
        bytes.append(contentsOf: w.bytes)
    }
}

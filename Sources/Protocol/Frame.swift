/// One complete frame: header fields plus the body bytes.
public struct Frame: Sendable, Hashable {
    /// Raw message type (unknown values are representable; see ``type``).
    public var rawType: UInt16
    /// Flags (reserved in version 1).
    public var flags: UInt16
    /// The request id.
    public var requestID: UInt64
    /// The body: `length − 12` bytes. Decoded payloads are slices of this storage.
    public var body: ArraySlice<UInt8>

    /// Creates a frame.
    public init(rawType: UInt16, flags: UInt16 = 0, requestID: UInt64, body: ArraySlice<UInt8>) {
        self.rawType = rawType
        self.flags = flags
        self.requestID = requestID
        self.body = body
    }

    /// The message type, when known.
    public var type: MessageType? { MessageType(rawValue: rawType) }

    /// The frame's bytes on the wire (header + body).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(FrameHeader.byteCount + body.count)
        FrameHeader(
            length: FrameHeader.minimumLength + UInt32(body.count), rawType: rawType, flags: flags,
            requestID: requestID
        ).encode(into: &out)
        out.append(contentsOf: body)
        return out
    }
}

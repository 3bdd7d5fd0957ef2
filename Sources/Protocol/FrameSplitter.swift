/// Splits a byte stream into frames, incrementally.
///
/// Feed bytes as they arrive (any chunking: one byte at a time or many frames at once) and
/// pull complete frames with ``next()``. A length field below the header size or above
/// ``maxFrameBytes`` is reported as soon as its 4 bytes have arrived, before any body is
/// buffered; after an error the splitter is poisoned and keeps reporting it (the
/// connection must be closed, since framing is lost).
///
/// Memory: the internal buffer holds at most one partial frame plus whatever was fed but
/// not yet pulled.
public struct FrameSplitter: Sendable {
    /// The largest accepted `length` field (bytes after the length prefix).
    public var maxFrameBytes: UInt32
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: ProtocolError?

    /// Creates a splitter accepting frames up to `maxFrameBytes` (default 64 MiB).
    public init(maxFrameBytes: UInt32 = ProtocolLimits.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes fed but not yet returned as frames.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil when more bytes are needed, or a typed error
    /// (``ErrorCode/malformedFrame`` / ``ErrorCode/frameTooLarge``) when the stream is invalid.
    public mutating func next() throws(ProtocolError) -> Frame? {
        if let failure { throw failure }
        let available = buffer.count - readIndex
        let start = readIndex
        let parsed: Result<FrameHeader?, ProtocolError> = buffer.withUnsafeBytes { raw in
            let view = UnsafeRawBufferPointer(rebasing: raw[start..<(start + available)])
            do throws(ProtocolError) {
                return .success(try FrameHeader.parse(view, maxFrameBytes: maxFrameBytes))
            } catch {
                return .failure(error)
            }
        }
        let header: FrameHeader
        switch parsed {
        case .failure(let error):
            failure = error
            throw error
        case .success(nil):
            return nil
        case .success(let h?):
            header = h
        }
        guard available >= header.frameBytes else { return nil }
        let bodyStart = start + FrameHeader.byteCount
        let body = Array(buffer[bodyStart..<(start + header.frameBytes)])
        readIndex += header.frameBytes
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        }
        return Frame(rawType: header.rawType, flags: header.flags, requestID: header.requestID, body: body[...])
    }

    private mutating func compactIfUseful() {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}

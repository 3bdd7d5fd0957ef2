import CoreTypes

/// A message body with a fixed wire layout (internal: the public entry points are
/// ``Message/encodeFrame(requestID:flags:maxFrameBytes:)`` and ``Message/decode(_:limits:)``).
protocol WireBody: Sendable, Hashable {
    func encode(into w: inout ByteWriter) throws(ProtocolError)
    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> Self
}

extension ByteWriter {
    /// Appends a `u8`-length-prefixed UTF-8 string of at most `maxBytes` bytes.
    mutating func shortString(_ s: String, maxBytes: Int = 255) throws(ProtocolError) {
        let utf8 = Array(s.utf8)
        guard utf8.count <= maxBytes else {
            throw ProtocolError(.badArgument, "string of \(utf8.count) bytes exceeds \(maxBytes)")
        }
        u8(UInt8(utf8.count))
        raw(utf8)
    }
}

extension WireReader {
    /// Reads a `u8`-length-prefixed UTF-8 string (0…255 bytes); invalid UTF-8 is `badArgument`.
    mutating func shortString(_ what: StaticString) throws(ProtocolError) -> String {
        let n = Int(try u8(what))
        let utf8 = try slice(count: n, what)
        guard let s = String(validating: utf8, as: UTF8.self) else {
            throw ProtocolError(.badArgument, "\(what) is not valid UTF-8")
        }
        return s
    }

    /// Reads an options byte and rejects bits outside `known`.
    mutating func options(_ what: StaticString, known: UInt8) throws(ProtocolError) -> UInt8 {
        let v = try u8(what)
        guard v & ~known == 0 else {
            throw ProtocolError(.badArgument, "\(what) has unknown bits 0x\(String(v & ~known, radix: 16))")
        }
        return v
    }
}

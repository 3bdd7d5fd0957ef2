import CoreTypes

/// Wire form of ``ProtocolError`` (type `error`): `code u16 | message UTF-8` (the rest of the
/// body, at most 4096 bytes).
extension ProtocolError: WireBody {
    func encode(into w: inout ByteWriter) {
        w.u16(code.rawValue)
        var utf8 = Array(message.utf8)
        if utf8.count > ProtocolLimits.maxErrorMessageBytes {
            // Truncate at a character boundary.
            var n = ProtocolLimits.maxErrorMessageBytes
            while n > 0 && (utf8[n] & 0xC0) == 0x80 { n -= 1 }
            utf8.removeSubrange(n...)
        }
        w.raw(utf8)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> ProtocolError {
        let raw = try r.u16("error.code")
        guard r.remaining <= ProtocolLimits.maxErrorMessageBytes else {
            throw .malformed("error message of \(r.remaining) bytes exceeds \(ProtocolLimits.maxErrorMessageBytes)")
        }
        let message = r.restAsString(maxBytes: ProtocolLimits.maxErrorMessageBytes)
        guard let code = ErrorCode(rawValue: raw) else {
            return ProtocolError(.internal, "unrecognised error code \(raw): \(message)")
        }
        return ProtocolError(code, message)
    }
}

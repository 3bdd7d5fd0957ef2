/// Session name rules: UTF-8, 1…255 bytes, no NUL byte.
public enum SessionName {
    /// Validates a name's UTF-8 bytes; throws ``ErrorCode/badArgument`` when invalid.
    public static func validate(utf8: ArraySlice<UInt8>) throws(ProtocolError) {
        guard (1...ProtocolLimits.maxSessionNameBytes).contains(utf8.count) else {
            throw ProtocolError(.badArgument, "session name must be 1…255 UTF-8 bytes, got \(utf8.count)")
        }
        guard !utf8.contains(0) else {
            throw ProtocolError(.badArgument, "session name contains a NUL byte")
        }
        guard String(validating: utf8, as: UTF8.self) != nil else {
            throw ProtocolError(.badArgument, "session name is not valid UTF-8")
        }
    }

    /// Validates a name; throws ``ErrorCode/badArgument`` when invalid.
    public static func validate(_ name: String) throws(ProtocolError) {
        try validate(utf8: Array(name.utf8)[...])
    }
}

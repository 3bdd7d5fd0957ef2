/// A typed protocol error: a stable ``ErrorCode`` plus a human-readable message.
///
/// Thrown by every decoder in this module and carried on the wire in `error` frames
/// (body: `code u16 | message UTF-8`, see ``ErrorReply``).
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable error code.
    public var code: ErrorCode
    /// Human-readable detail (UTF-8, at most ``ProtocolLimits/maxErrorMessageBytes`` bytes on
    /// the wire; longer messages are truncated at a character boundary when encoded).
    public var message: String

    /// Creates an error with `code` and an explanatory `message`.
    public init(_ code: ErrorCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public var description: String {
        message.isEmpty ? "\(code) (\(code.rawValue))" : "\(code) (\(code.rawValue)): \(message)"
    }

    static func malformed(_ message: String) -> ProtocolError {
        ProtocolError(.malformedFrame, message)
    }
}

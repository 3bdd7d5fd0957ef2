/// Session name rules. Any name in a request: UTF-8, 1…255 bytes, no NUL byte. A name a session
/// is *created* with (`createSession`, the target of `forkSession`) is also limited to the
/// alphabet ``allowedInNewNames`` (ASCII letters, digits and `. _ - ~ @ + = : ,`): no control
/// characters, spaces or slashes reach logs and terminals. Each owner (uid) has its own
/// namespace of names; `UID/NAME` addresses another owner's session (administrators only,
/// docs/PROTOCOL.md §6).
public enum SessionName {
    /// The bytes a new session name may hold.
    public static let allowedInNewNames: Set<UInt8> = Set(
        Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~@+=:,".utf8))

    /// Longest name a session may be created with, in bytes: its qualified form `UID/NAME`
    /// (at most 11 bytes more) still fits the 255-byte name field.
    public static let maximumNewNameBytes = 244

    /// Validates the name of a session to create: ``validate(_:)``, at most
    /// ``maximumNewNameBytes``, and the alphabet ``allowedInNewNames``; throws
    /// ``ErrorCode/badArgument`` naming the first byte outside it.
    public static func validateNew(_ name: String) throws(ProtocolError) {
        try validate(name)
        guard name.utf8.count <= maximumNewNameBytes else {
            throw ProtocolError(.badArgument, "a new session name must be at most \(maximumNewNameBytes) bytes, got \(name.utf8.count)")
        }
        if let bad = name.utf8.first(where: { !allowedInNewNames.contains($0) }) {
            throw ProtocolError(
                .badArgument,
                "session name holds byte 0x\(String(bad, radix: 16)); new names use only ASCII letters, digits and . _ - ~ @ + = : ,")
        }
    }

    /// `name` for a log line or an error message: printable ASCII kept, anything else (control
    /// characters, escapes, non-ASCII) as `\u{…}`; the first 255 characters.
    public static func printable(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars.prefix(255) {
            if scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\\" && scalar != "\"" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }

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

/// Typed metadata look-ups that throw a ``GGUFError`` instead of returning nil, and the
/// architecture check.
extension GGUFFile {
    /// Architectures the model loader can run (`general.architecture`).
    public static let supportedArchitectures: Set<String> = Set(Architecture.allCases.map(\.rawValue))

    /// `general.architecture`, or nil if absent or not a string.
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// Returns `general.architecture` if it is one of `supported` (default: `llama`).
    /// Throws ``GGUFError/missingMetadata(key:)`` if the key is absent,
    /// ``GGUFError/metadataTypeMismatch(key:expected:)`` if it is not a string, and
    /// ``GGUFError/unsupportedArchitecture(_:)`` otherwise.
    @discardableResult
    public func requireArchitecture(_ supported: Set<String> = GGUFFile.supportedArchitectures) throws(GGUFError) -> String {
        let key = "general.architecture"
        guard let value = metadata[key] else { throw .missingMetadata(key: key) }
        guard let arch = value.string else { throw .metadataTypeMismatch(key: key, expected: "a string") }
        guard supported.contains(arch) else { throw .unsupportedArchitecture(arch) }
        return arch
    }

    /// The integer value of `key` (any GGUF integer type that fits in `Int`).
    public func requireInt(_ key: String) throws(GGUFError) -> Int {
        guard let value = metadata[key] else { throw .missingMetadata(key: key) }
        guard let v = value.int else { throw .metadataTypeMismatch(key: key, expected: "an integer") }
        return v
    }

    /// The numeric value of `key` as `Float` (float or integer types).
    public func requireFloat(_ key: String) throws(GGUFError) -> Float {
        guard let value = metadata[key] else { throw .missingMetadata(key: key) }
        guard let v = value.float else { throw .metadataTypeMismatch(key: key, expected: "a number") }
        return v
    }

    /// The string value of `key`.
    public func requireString(_ key: String) throws(GGUFError) -> String {
        guard let value = metadata[key] else { throw .missingMetadata(key: key) }
        guard let v = value.string else { throw .metadataTypeMismatch(key: key, expected: "a string") }
        return v
    }

    /// The string-array value of `key` (e.g. `tokenizer.ggml.tokens`).
    public func requireStringArray(_ key: String) throws(GGUFError) -> [String] {
        guard let value = metadata[key] else { throw .missingMetadata(key: key) }
        guard let v = value.stringArray else { throw .metadataTypeMismatch(key: key, expected: "an array of strings") }
        return v
    }
}

/// Errors raised while building or running a Llama-family model.
///
/// Every case has a stable numeric ``code`` (never reused, never renumbered) so that tools and
/// logs can identify a failure without parsing its description.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file could not be opened or parsed (the GGUF layer's message in `reason`).
    case fileUnreadable(path: String, reason: String)
    /// `general.architecture` names an architecture this forward pass does not implement.
    case unsupportedArchitecture(String)
    /// A required metadata key is absent or has the wrong type.
    case missingMetadata(key: String)
    /// A metadata value is present but impossible (zero heads, head count not divisible, …).
    case invalidMetadata(key: String, reason: String)
    /// A required tensor is absent from the file.
    case missingTensor(name: String)
    /// A tensor's dimensions disagree with the configuration.
    case tensorShapeMismatch(name: String, expected: [Int], found: [Int])
    /// The tensor's element type cannot be used by this forward pass.
    case unsupportedTensorType(name: String, type: String)
    /// Reading or dequantising a tensor failed in the GGUF layer.
    case tensorLoadFailed(name: String, reason: String)
    /// A token id is outside `0..<vocabularySize`.
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    /// The sequence would exceed the attention cache's capacity (in tokens).
    case contextOverflow(requested: Int, capacity: Int)
    /// An empty token list was given where at least one token is needed.
    case emptyInput
    /// A chat prompt was asked of a model without a chat template (a base model).
    case noChatTemplate
    /// Saved attention state (e.g. a sliding window in a checkpoint) cannot be restored.
    case invalidState(String)

    /// Stable numeric code of the error (1xx: model description, 2xx: tensors, 3xx: running).
    public var code: Int {
        switch self {
        case .fileUnreadable: 100
        case .unsupportedArchitecture: 101
        case .missingMetadata: 102
        case .invalidMetadata: 103
        case .missingTensor: 201
        case .tensorShapeMismatch: 202
        case .unsupportedTensorType: 203
        case .tensorLoadFailed: 204
        case .tokenOutOfRange: 301
        case .contextOverflow: 302
        case .emptyInput: 303
        case .invalidState: 304
        case .noChatTemplate: 104
        }
    }

    public var description: String {
        switch self {
        case .fileUnreadable(let p, let r): "model error \(code): cannot read model file '\(p)': \(r)"
        case .unsupportedArchitecture(let a): "model error \(code): unsupported architecture '\(a)' (implemented: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .missingMetadata(let k): "model error \(code): metadata key '\(k)' is missing or has the wrong type"
        case .invalidMetadata(let k, let r): "model error \(code): metadata key '\(k)' is invalid: \(r)"
        case .missingTensor(let n): "model error \(code): tensor '\(n)' is missing"
        case .tensorShapeMismatch(let n, let e, let f): "model error \(code): tensor '\(n)' has dimensions \(f), expected \(e)"
        case .unsupportedTensorType(let n, let t): "model error \(code): tensor '\(n)' has unsupported type \(t)"
        case .tensorLoadFailed(let n, let r): "model error \(code): tensor '\(n)' could not be loaded: \(r)"
        case .tokenOutOfRange(let t, let v): "model error \(code): token id \(t) is outside 0..<\(v)"
        case .contextOverflow(let r, let c): "model error \(code): \(r) tokens requested but the attention cache holds \(c)"
        case .emptyInput: "model error \(code): no input tokens"
        case .noChatTemplate: "model error \(code): the model has no chat template (a base model): prompt it without --chat, with a completion layout (see --answer-prefix)"
        case .invalidState(let r): "model error \(code): saved attention state is invalid: \(r)"
        }
    }
}

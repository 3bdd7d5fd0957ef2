/// The daemon's answer for one layer and one chunk: which blocks to attend.
public struct LayerSelection: Sendable, Hashable {
    /// Indices into the layer's block list (0…N−1), best first; `chosen.count == k`.
    public var chosen: [Int]
    /// Blocks chosen (k_ℓ).
    public var k: Int
    /// Entropy (nats) of softmax over the block scores; 0 when not computed (dense, infllm, N < 2).
    public var entropy: Float
    /// Normalised density ρ = entropy / ln N ∈ [0, 1]; 0 when not computed.
    public var density: Float

    /// Creates a selection.
    public init(chosen: [Int], entropy: Float, density: Float) {
        self.chosen = chosen; self.k = chosen.count; self.entropy = entropy; self.density = density
    }
}

/// Bad input to ``ProbeState/probe(layer:method:queries:count:)`` or ``SelectionState``'s `select`. ``code`` is stable.
public enum SelectionError: Error, Sendable, Hashable {
    /// `layer` is not in 0..<layers.
    case layerOutOfRange(layer: Int, layers: Int)
    /// The probe (or the query chunk) has no element.
    case emptyProbe
    /// `keys.count` is not `count · D` (D = probe length).
    case keysSizeMismatch(expected: Int, actual: Int)
    /// The question vector's length differs from the probe's.
    case questionSizeMismatch(expected: Int, actual: Int)
    /// A query buffer is smaller than `count · D`.
    case queriesSizeMismatch(expected: Int, actual: Int)
    /// The width D differs from the one the activation statistics were built with.
    case widthMismatch(expected: Int, actual: Int)
    /// A negative block count.
    case negativeCount(Int)
    /// A question weight λ that is NaN, infinite or negative.
    case invalidQuestionWeight(Float)

    /// Stable numeric code (2xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .layerOutOfRange: 201
        case .emptyProbe: 202
        case .keysSizeMismatch: 203
        case .questionSizeMismatch: 204
        case .queriesSizeMismatch: 205
        case .widthMismatch: 206
        case .negativeCount: 207
        case .invalidQuestionWeight: 208
        }
    }
}

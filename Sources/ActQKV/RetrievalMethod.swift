import CoreTypes

// What each retrieval method (CoreTypes' `RetrievalMethod`, docs/ACTQKV.md §"Methods") does.
extension RetrievalMethod {
    /// Whether the probe-query weights tokens by their activation bias (docs/ACTQKV.md §"Probe").
    public var usesActivationBias: Bool { self == .actqkv || self == .actqkvReference || self == .activateOnly }
    /// Whether blocks are ranked by cosine over the D-vector (+ the question term in prefill; else
    /// by InfLLM's inner product, docs/ACTQKV.md §"Block scoring").
    public var ranksByCosine: Bool { self == .actqkvReference || self == .activateOnly || self == .dynamicOnly }
    /// Whether the per-layer block count comes from the density allocator (docs/ACTQKV.md §"Budget"),
    /// which measures the density of the cosine scores.
    public var usesDensityAllocation: Bool { self == .actqkv || self == .actqkvReference || self == .dynamicOnly }
}

/// Which queries the activation-bias running statistics are computed over (docs/ACTQKV.md §"Activation statistics").
public enum StatisticsScope: UInt8, Sendable, Hashable, CaseIterable {
    /// One set of statistics shared by all layers (the reference).
    case shared = 0
    /// One set per layer.
    case perLayer = 1
}

/// What the statistics warm-up counts (docs/ACTQKV.md §"Activation statistics").
public enum WarmupUnit: UInt8, Sendable, Hashable, CaseIterable {
    /// Calls (chunks) seen by the statistics set (the reference: uniform weights for the first
    /// `warmup + 1` calls).
    case calls = 0
    /// Query tokens seen by the statistics set: uniform weights until more than `warmup` tokens
    /// have been folded in before the current call.
    case tokens = 1
}

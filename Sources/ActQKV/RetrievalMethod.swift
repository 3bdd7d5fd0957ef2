/// The retrieval method of a session (docs/ACTQKV.md §"Methods"). The raw values are stable: they are
/// written into encoded ``RetrievalState``s and may travel on the wire.
public enum RetrievalMethod: UInt8, Sendable, Hashable, CaseIterable {
    /// Full causal attention over every past token; no blocks, no retrieval (the quality reference).
    case dense = 0
    /// InfLLM: mean probe-query, inner-product block scoring, a fixed `min(N, K)` blocks per layer.
    case infllm = 1
    /// ActQKV: activation-bias probe, cosine scoring (+ question term in prefill), density cut-off.
    case actqkv = 2
    /// Ablation: activation-bias probe and cosine scoring, a fixed `min(N, K_max)` blocks per layer.
    case activateOnly = 3
    /// Ablation: uniform (mean) probe, cosine scoring, the density cut-off.
    case dynamicOnly = 4

    /// Whether the probe-query weights tokens by their activation bias (docs/ACTQKV.md §"Probe").
    public var usesActivationBias: Bool { self == .actqkv || self == .activateOnly }
    /// Whether blocks are scored by cosine over the D-vector (else InfLLM's inner product).
    public var usesCosineScoring: Bool { self == .actqkv || self == .activateOnly || self == .dynamicOnly }
    /// Whether the per-layer block count comes from the density allocator (docs/ACTQKV.md §"Budget").
    public var usesDensityAllocation: Bool { self == .actqkv || self == .dynamicOnly }
    /// Whether the method uses block memory at all (`false` only for ``dense``).
    public var usesBlockMemory: Bool { self != .dense }
}

/// Prefill or decode mode (docs/ACTQKV.md §"Mode"). The caller decides: a prompt's chunks and its last
/// token are `prefill`; every generated token fed back is `decode`. The question term enters scoring
/// only in `prefill`; the density-weighted share of the pool applies only in `decode`.
public enum RetrievalMode: UInt8, Sendable, Hashable, CaseIterable {
    case prefill = 0
    case decode = 1
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

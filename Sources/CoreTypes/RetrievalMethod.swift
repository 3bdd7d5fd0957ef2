/// The block-selection method of a session's retrievals (docs/ACTQKV.md §"Methods"). The raw
/// values are stable: they travel on the wire (`retrieve`) and are written into encoded
/// retrieval states. The properties that say what each method does are ActQKV's.
public enum RetrievalMethod: UInt8, Sendable, Hashable, CaseIterable {
    /// Full causal attention over every past token: every block of the layer, no scoring (the
    /// quality reference).
    case dense = 0
    /// InfLLM: mean probe-query, inner-product block scoring, a fixed `min(N, K)` blocks per layer.
    case infllm = 1
    /// ActQKV as published (the reference, `actqkv-ref`): activation-bias probe, cosine scoring
    /// (+ question term in prefill), density cut-off.
    case actqkvReference = 2
    /// Ablation: activation-bias probe and cosine scoring, a fixed `min(N, K_max)` blocks per layer.
    case activateOnly = 3
    /// Ablation: uniform (mean) probe, cosine scoring, the density cut-off.
    case dynamicOnly = 4
    /// ActQKV as this project runs it (docs/ACTQKV.md §"Methods"): the reference's activation-bias
    /// probe and density cut-off, blocks ranked by InfLLM's inner product (cosine only inside the
    /// density measure).
    case actqkv = 5
}

/// Prefill or decode mode of a retrieval (docs/ACTQKV.md §"Mode"). The caller decides: a
/// prompt's chunks and its last token are `prefill`; every generated token fed back is
/// `decode`. The question term enters scoring only in `prefill`; the density-weighted share of
/// the pool applies only in `decode`. Raw values are stable (wire and encoded states).
public enum RetrievalMode: UInt8, Sendable, Hashable, CaseIterable {
    /// Prefill: the question term enters scoring; uniform budget shares.
    case prefill = 0
    /// Decode: question term dropped; density-weighted budget shares.
    case decode = 1
}

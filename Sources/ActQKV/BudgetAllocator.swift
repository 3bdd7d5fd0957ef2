import CoreTypes

/// The per-layer block count of the density cut-off (docs/ACTQKV.md §"Budget" steps 4–6).
public enum BudgetAllocator {
    /// Share of the remaining pool for `layer` (0-based, of `layers`): in decode mode, once every
    /// layer's history is full, w = m_ℓ / Σ_{i ≥ ℓ} m_i (m = history means); otherwise 1/(L − ℓ).
    public static func share(layer: Int, layers: Int, mode: RetrievalMode, histories: [DensityHistory]) -> Float {
        let uniform = 1 / Float(layers - layer)
        guard mode == .decode, histories.count == layers, histories.allSatisfy(\.isFull) else { return uniform }
        var rest: Float = 0
        for i in layer..<layers { rest += histories[i].mean }
        let w = histories[layer].mean / rest
        return (rest > 0 && w.isFinite) ? w : uniform
    }

    /// k = clamp(round_half_even(share·pool), min(N, K_min), min(N, K_max)) blocks, for `available`
    /// = N closed blocks and `pool` = R blocks left in the chunk's pool (may be negative).
    public static func blocks(share: Float, pool: Int, available n: Int, config: RetrievalConfig) -> Int {
        let lo = min(n, config.minBlocks), hi = min(n, config.maxBlocks)
        let raw = (share * Float(pool)).rounded(.toNearestOrEven)
        let k = raw.isFinite ? Int(max(min(raw, Float(Int32.max)), Float(Int32.min))) : lo
        return min(max(k, lo), hi)
    }
}

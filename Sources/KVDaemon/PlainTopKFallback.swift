// TEMPORARY: plain top-k by inner product, used by `retrieve` until the ActQKV module's scoring
// and per-layer budget allocation are on main. This is the only file of KVDaemon that computes
// anything about blocks; replace its single call site (RetrievalEngine) and delete it.

/// Selects the `k` stored blocks whose representative keys have the largest inner product with
/// the probe (InfLLM's fixed top-K with a mean probe). Ties keep the earlier block.
enum PlainTopKFallback {
    /// Indices (0-based positions in `keys`) of the chosen blocks, best score first.
    /// - Parameters:
    ///   - keys: `count × dimension` floats, row-major.
    ///   - probe: `dimension` floats.
    ///   - k: number of blocks to choose; `min(count, k)` are returned.
    static func select(keys: UnsafeBufferPointer<Float>, count: Int, dimension: Int, probe: [Float], k: Int) -> [Int] {
        let take = min(count, max(0, k))
        guard take > 0 else { return [] }
        var scores = [Float](repeating: 0, count: count)
        probe.withUnsafeBufferPointer { p in
            for row in 0..<count {
                let base = row * dimension
                var sum: Float = 0
                for j in 0..<dimension { sum += keys[base + j] * p[j] }
                scores[row] = sum
            }
        }
        let order = (0..<count).sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
        return Array(order.prefix(take))
    }
}

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
        guard take > 0, let base = keys.baseAddress else { return [] }
        // The best `take` so far, kept sorted best-first (score descending, index ascending).
        var best: [(score: Float, index: Int)] = []
        best.reserveCapacity(take + 1)
        probe.withUnsafeBufferPointer { p in
            for row in 0..<count {
                let score = dot(base + row * dimension, p.baseAddress!, dimension)
                if best.count == take, let last = best.last, !(score > last.score) { continue }
                var slot = best.count
                while slot > 0 && score > best[slot - 1].score { slot -= 1 }
                best.insert((score, row), at: slot)
                if best.count > take { best.removeLast() }
            }
        }
        return best.map(\.index)
    }

    /// Inner product of two `n`-float vectors, 16 lanes at a time.
    @inline(__always)
    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var j = 0
        while j + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: j * 4 + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: j * 4 + 32, as: SIMD8<Float>.self)
            j += 16
        }
        var sum = (acc0 + acc1).sum()
        while j < n {
            sum += a[j] * b[j]
            j += 1
        }
        return sum
    }
}

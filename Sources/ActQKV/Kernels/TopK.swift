/// Top-k selection over block scores.
public enum TopK {
    /// Indices of the `k` largest scores, best first; ties go to the lower index; NaN ranks below
    /// every number. `k` is clamped to `0…scores.count`. O(N·log k) with a bounded binary insertion.
    public static func indices(of scores: UnsafeBufferPointer<Float>, k: Int) -> [Int] {
        let k = min(max(k, 0), scores.count)
        guard k > 0 else { return [] }
        @inline(__always) func key(_ i: Int) -> Float { let s = scores[i]; return s.isNaN ? -.infinity : s }
        // `best` sorted best first; a candidate enters if it beats the current last.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in 0..<scores.count {
            let s = key(i)
            if best.count == k {
                if !(s > key(best[k - 1])) { continue }
            }
            // Binary search for the first position whose score is < s (stable: after equal scores).
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if key(best[mid]) >= s { lo = mid + 1 } else { hi = mid }
            }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}

/// The last `capacity` normalised densities ρ recorded by one layer (docs/ACTQKV.md §"Budget" step 3),
/// oldest first.
public struct DensityHistory: Sendable, Hashable {
    /// Recorded values, oldest first; at most `capacity` entries.
    public internal(set) var values: [Float]
    /// Maximum number of entries kept (the config's `historyLength`).
    public let capacity: Int

    /// An empty history keeping at most `capacity` (≥ 1) entries.
    public init(capacity: Int) { self.capacity = max(capacity, 1); values = [] }

    init(capacity: Int, values: [Float]) { self.capacity = capacity; self.values = values }

    /// Appends ρ, dropping the oldest entry when full.
    public mutating func record(_ rho: Float) {
        if values.count == capacity { values.removeFirst() }
        values.append(rho)
    }

    /// Whether `capacity` entries have been recorded.
    public var isFull: Bool { values.count == capacity }

    /// Mean of the recorded values (0 when empty).
    public var mean: Float {
        guard !values.isEmpty else { return 0 }
        var s: Float = 0
        for v in values { s += v }
        return s / Float(values.count)
    }
}

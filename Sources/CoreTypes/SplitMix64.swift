/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast, seedable generator whose output
/// sequence depends only on the seed — the same on every platform and run. Used wherever the
/// project needs reproducible pseudo-random numbers (sampling, synthetic tasks, benchmark and
/// test data, the stress drivers); never for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state; advanced by the golden-ratio increment on every draw.
    public var state: UInt64

    /// Starts the sequence for `seed`.
    @inlinable
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform Float in (0, 1): 24 random bits, centred in their cell (never 0 or 1).
    @inlinable
    public mutating func nextOpenUnitFloat() -> Float { (Float(next() >> 40) + 0.5) / Float(1 << 24) }

    /// A uniform Float in [−1, 1) on a 2⁻²³ grid (exact in Float).
    @inlinable
    public mutating func nextSignedUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

// Uniform choices drawn from the sequence, defined here (not with the standard library's
// `random(in:using:)` and `shuffled(using:)`, whose algorithms may change between Swift
// releases) so that a seed names the same choices on every toolchain.
extension SplitMix64 {
    /// Uniform in 0..<bound (bound ≥ 1; the modulo bias is below 2⁻⁴⁰ for bounds under 2²⁴).
    @inlinable
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in `range`.
    @inlinable
    public mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// One element of a non-empty array.
    @inlinable
    public mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    /// Shuffles `values` in place (Fisher–Yates, last position first).
    @inlinable
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) { values.swapAt(i, below(i + 1)) }
    }

    /// `count` distinct indices of 0..<population in the order drawn (count ≤ population):
    /// a partial Fisher–Yates over the population.
    @inlinable
    public mutating func sample(_ count: Int, of population: Int) -> [Int] {
        precondition(count <= population, "sample of \(count) from \(population)")
        var swapped: [Int: Int] = [:]
        var chosen: [Int] = []
        chosen.reserveCapacity(count)
        for i in 0..<count {
            let j = i + below(population - i)
            let vj = swapped[j] ?? j
            swapped[j] = swapped[i] ?? i
            chosen.append(vj)
        }
        return chosen
    }
}

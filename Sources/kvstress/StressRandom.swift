/// A small, seeded, reproducible generator (SplitMix64) for the drivers' random choices.
struct StressRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound ≥ 1).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// One element of a non-empty array.
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    /// Uniform in [-1, 1), on a 2^-23 grid (exact in Float).
    mutating func signedUnit() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Uniform in (0, 1).
    mutating func unit() -> Float { (Float(next() >> 40) + 0.5) / Float(1 << 24) }

    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Float {
        let u = unit(), v = unit()
        return (-2 * logf(u)).squareRoot() * cosf(2 * Float.pi * v)
    }
}

#if canImport(Glibc)
import Glibc
#endif

import CoreTypes

#if canImport(Glibc)
import Glibc
#endif

// The drivers' random choices, drawn from CoreTypes' seeded SplitMix64 (reproducible runs).
extension SplitMix64 {
    /// Uniform in 0..<bound (bound ≥ 1).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// One element of a non-empty array.
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Standard normal (Box–Muller, in Float).
    mutating func gaussian() -> Float {
        let u = nextOpenUnitFloat(), v = nextOpenUnitFloat()
        return (-2 * logf(u)).squareRoot() * cosf(2 * Float.pi * v)
    }
}

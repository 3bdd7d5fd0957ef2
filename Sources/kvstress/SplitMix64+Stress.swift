import CoreTypes

#if canImport(Glibc)
import Glibc
#endif

// The drivers' random choices beyond CoreTypes' uniform ones (reproducible runs).
extension SplitMix64 {
    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Standard normal (Box–Muller, in Float).
    mutating func gaussian() -> Float {
        let u = nextOpenUnitFloat(), v = nextOpenUnitFloat()
        return (-2 * logf(u)).squareRoot() * cosf(2 * Float.pi * v)
    }
}

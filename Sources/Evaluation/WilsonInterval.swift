import Foundation

/// The Wilson score interval of a proportion (Wilson 1927): for p̂ = successes/n and the normal
/// quantile z (1.96 for 95 %), centre (p̂ + z²/2n)/(1 + z²/n) ± z·√(p̂(1−p̂)/n + z²/4n²)/(1 + z²/n).
/// Unlike the normal interval it stays inside [0, 1] and is not empty at p̂ = 0 or 1. A mean of
/// fractional scores (a sample that finds 3 of 4 values scores 0.75) is treated as the
/// proportion of n trials.
public struct WilsonInterval: Sendable, Hashable, Codable {
    public var lower: Double
    public var upper: Double

    /// The 97.5 % quantile of the standard normal distribution.
    public static let z95 = 1.959963984540054

    /// The interval of proportion `p` over `n` ≥ 1 trials at quantile `z`.
    public init(proportion p: Double, count n: Int, z: Double = Self.z95) {
        precondition(n >= 1, "Wilson interval of no trials")
        let nn = Double(n), z2 = z * z
        let denominator = 1 + z2 / nn
        let centre = (p + z2 / (2 * nn)) / denominator
        let half = z * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot() / denominator
        lower = max(0, centre - half)
        upper = min(1, centre + half)
    }
}

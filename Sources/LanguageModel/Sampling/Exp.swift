import Foundation

/// Double-precision e^x (Foundation's), for the sampler.
@inline(__always)
func Foundation_exp(_ x: Double) -> Double { Foundation.exp(x) }

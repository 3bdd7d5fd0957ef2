import Foundation

/// Double-precision e^x (Foundation's), named apart from ``Softmax/exp(_:)``.
@inline(__always)
func Foundation_exp(_ x: Double) -> Double { Foundation.exp(x) }

import Testing
@testable import ActQKV

@Suite("VectorKernels")
struct VectorKernelsTests {
    @Test("dot, sum, axpy agree with Float64 within 1e-6 relative", arguments: [1, 7, 31, 64, 77, 576, 4096])
    func againstFloat64(n: Int) {
        var rng = SeededRandom(seed: UInt64(n))
        let a = rng.floats(n), b = rng.floats(n)
        let dot = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { VectorKernels.dot(pa.baseAddress!, $0.baseAddress!, count: n) } }
        let ref = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let scale = (a.reduce(0.0) { $0 + Double($1 * $1) } * b.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
        #expect(abs(Double(dot) - ref) <= 1e-6 * scale)
        let s = a.withUnsafeBufferPointer { VectorKernels.sum($0.baseAddress!, count: n) }
        let sref = a.reduce(0.0) { $0 + Double($1) }, sabs = a.reduce(0.0) { $0 + abs(Double($1)) }
        #expect(abs(Double(s) - sref) <= 1e-6 * sabs)
        var y = b
        y.withUnsafeMutableBufferPointer { yb in a.withUnsafeBufferPointer { VectorKernels.axpy(0.37, $0.baseAddress!, yb.baseAddress!, count: n) } }
        for i in 0..<n { #expect(abs(Double(y[i]) - (Double(b[i]) + 0.37 * Double(a[i]))) <= 1e-6) }
    }

    @Test("the bandwidth-floor sum agrees with Float64 within 1e-6 of Σ|a| at every level", arguments: [1, 15, 17, 127, 129, 4099, 100_003])
    func sumAllLevels(n: Int) {
        var rng = SeededRandom(seed: UInt64(n) + 77)
        let a = rng.floats(n)
        let sref = a.reduce(0.0) { $0 + Double($1) }, sabs = a.reduce(0.0) { $0 + abs(Double($1)) }
        for level in KernelLevel.available {
            let s = a.withUnsafeBufferPointer { VectorKernels.sum($0.baseAddress!, count: n, kernel: level) }
            #expect(abs(Double(s) - sref) <= 1e-6 * sabs, "\(level)")
        }
    }
}

import Testing
@testable import ActQKV

@Suite("BlockScoring")
struct BlockScoringTests {
    func reference(_ keys: [Float], _ p: [Float], _ u: [Float]?, lambda: Double, n: Int, d: Int) -> [Double] {
        func norm(_ x: ArraySlice<Float>) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        return (0..<n).map { j in
            let k = keys[(j * d)..<((j + 1) * d)]
            func cosine(_ v: [Float]) -> Double {
                zip(k, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / (norm(k) * norm(v[...]))
            }
            return cosine(p) + (u.map { lambda * cosine($0) } ?? 0)
        }
    }

    @Test("cosine scores (with and without the question term) agree with Float64 within 1e-6",
          arguments: [(64, 576), (16, 4096), (33, 77)])
    func cosines(n: Int, d: Int) {
        var rng = SeededRandom(seed: UInt64(n * d))
        let keys = rng.floats(n * d, -2, 2), p = rng.floats(d), u = rng.floats(d)
        for question in [nil, u] {
            var out = [Float](repeating: 0, count: n)
            keys.withUnsafeBufferPointer { k in p.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { o in
                    if let question {
                        question.withUnsafeBufferPointer { ub in
                            BlockScoring.cosines(probe: pb.baseAddress!, question: ub.baseAddress!, questionWeight: 4, keys: k.baseAddress!, count: n, width: d, into: o.baseAddress!)
                        }
                    } else {
                        BlockScoring.cosines(probe: pb.baseAddress!, question: nil, questionWeight: 4, keys: k.baseAddress!, count: n, width: d, into: o.baseAddress!)
                    }
                }
            } }
            let ref = reference(keys, p, question, lambda: 4, n: n, d: d)
            for j in 0..<n { #expect(abs(Double(out[j]) - ref[j]) <= 1e-6 * (question == nil ? 1 : 5), "block \(j)") }
        }
    }

    @Test("fp16 keys score like their exact Float32 widening", arguments: [(64, 576), (16, 4096), (9, 77)])
    func fp16Keys(n: Int, d: Int) {
        var rng = SeededRandom(seed: UInt64(d))
        let half = rng.floats(n * d, -2, 2).map { HalfConversion.fp16(from: $0) }
        let widened = half.map { HalfConversion.float(fromFP16: $0) }
        let p = rng.floats(d), u = rng.floats(d)
        var out = [Float](repeating: 0, count: n), dots = [Float](repeating: 0, count: n)
        half.withUnsafeBufferPointer { k in p.withUnsafeBufferPointer { pb in u.withUnsafeBufferPointer { ub in
            out.withUnsafeMutableBufferPointer { o in
                BlockScoring.cosines(probe: pb.baseAddress!, question: ub.baseAddress!, questionWeight: 4, fp16Keys: k.baseAddress!, count: n, width: d, into: o.baseAddress!)
            }
            dots.withUnsafeMutableBufferPointer { o in
                BlockScoring.innerProducts(probe: pb.baseAddress!, fp16Keys: k.baseAddress!, count: n, width: d, into: o.baseAddress!)
            }
        } } }
        let ref = reference(widened, p, u, lambda: 4, n: n, d: d)
        for j in 0..<n {
            #expect(abs(Double(out[j]) - ref[j]) <= 5e-6)
            let k = widened[(j * d)..<((j + 1) * d)]
            let dref = zip(k, p).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let scale = (k.reduce(0.0) { $0 + Double($1 * $1) } * p.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            #expect(abs(Double(dots[j]) - dref) <= 1e-6 * scale)
        }
    }

    @Test("inner products (InfLLM) agree with Float64 within 1e-6 of ‖k‖‖p‖")
    func innerProducts() {
        var rng = SeededRandom(seed: 44)
        let n = 40, d = 576
        let keys = rng.floats(n * d), p = rng.floats(d)
        var out = [Float](repeating: 0, count: n)
        keys.withUnsafeBufferPointer { k in p.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { o in
            BlockScoring.innerProducts(probe: pb.baseAddress!, keys: k.baseAddress!, count: n, width: d, into: o.baseAddress!)
        } } }
        for j in 0..<n {
            let k = keys[(j * d)..<((j + 1) * d)]
            let ref = zip(k, p).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let scale = (k.reduce(0.0) { $0 + Double($1 * $1) } * p.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            #expect(abs(Double(out[j]) - ref) <= 1e-6 * scale)
        }
    }
}

import CoreTypes
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
        let half = rng.floats(n * d, -2, 2).map { HalfFloat.fp16(from: $0) }
        let widened = half.map { HalfFloat.float(fromFP16: $0) }
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

    // MARK: every kernel level (dispatched SIMD and the forced portable fallback)

    /// Shapes with odd widths and block counts that are not multiples of any vector width (8, 16,
    /// 32, 64), next to the benchmark's widths.
    static let oddShapes: [(n: Int, d: Int)] = [(1, 1), (3, 7), (5, 15), (7, 17), (11, 33), (13, 63), (9, 65),
                                                (37, 77), (6, 129), (17, 577), (3, 4099), (23, 576), (5, 4096)]

    /// Float64 cosine pieces of one key: (⟨k,p⟩, ⟨k,u⟩, ‖k‖, ‖p‖, ‖u‖).
    static func reference64(_ k: ArraySlice<Float>, _ p: [Float], _ u: [Float]) -> (Double, Double, Double, Double, Double) {
        var dp = 0.0, du = 0.0, kk = 0.0, pp = 0.0, uu = 0.0
        for (i, kv) in zip(k.indices, k) {
            let x = Double(kv), j = i - k.startIndex
            dp += x * Double(p[j]); du += x * Double(u[j]); kk += x * x
            pp += Double(p[j]) * Double(p[j]); uu += Double(u[j]) * Double(u[j])
        }
        return (dp, du, kk.squareRoot(), pp.squareRoot(), uu.squareRoot())
    }

    /// Runs all four scoring entry points for one key type at `level`: (cos, cos + λ·cos_u, dots).
    static func score(level: KernelLevel, f32 keys: [Float]?, f16 half: [UInt16]?, p: [Float], u: [Float], lambda: Float,
                      n: Int, d: Int) -> (plain: [Float], question: [Float], dots: [Float]) {
        var plain = [Float](repeating: .nan, count: n), withU = plain, dots = plain
        p.withUnsafeBufferPointer { pb in u.withUnsafeBufferPointer { ub in
            plain.withUnsafeMutableBufferPointer { o1 in withU.withUnsafeMutableBufferPointer { o2 in dots.withUnsafeMutableBufferPointer { o3 in
                if let keys {
                    keys.withUnsafeBufferPointer { k in
                        BlockScoring.cosines(probe: pb.baseAddress!, question: nil, questionWeight: lambda, keys: k.baseAddress!,
                                             count: n, width: d, into: o1.baseAddress!, kernel: level)
                        BlockScoring.cosines(probe: pb.baseAddress!, question: ub.baseAddress!, questionWeight: lambda, keys: k.baseAddress!,
                                             count: n, width: d, into: o2.baseAddress!, kernel: level)
                        BlockScoring.innerProducts(probe: pb.baseAddress!, keys: k.baseAddress!, count: n, width: d,
                                                   into: o3.baseAddress!, kernel: level)
                    }
                } else if let half {
                    half.withUnsafeBufferPointer { k in
                        BlockScoring.cosines(probe: pb.baseAddress!, question: nil, questionWeight: lambda, fp16Keys: k.baseAddress!,
                                             count: n, width: d, into: o1.baseAddress!, kernel: level)
                        BlockScoring.cosines(probe: pb.baseAddress!, question: ub.baseAddress!, questionWeight: lambda, fp16Keys: k.baseAddress!,
                                             count: n, width: d, into: o2.baseAddress!, kernel: level)
                        BlockScoring.innerProducts(probe: pb.baseAddress!, fp16Keys: k.baseAddress!, count: n, width: d,
                                                   into: o3.baseAddress!, kernel: level)
                    }
                }
            } } }
        } }
        return (plain, withU, dots)
    }

    /// Checks every entry point at every level against Float64. Signed data: error ≤ 1e-6 of the
    /// magnitude bound (‖k‖‖p‖ for a dot product, 1 per cosine term). Positive data (all cosines
    /// and dots far from 0): error ≤ 1e-6 of the reference value itself.
    func checkAllLevels(fp16: Bool, positive: Bool) throws {
        let lambda: Float = 4
        var worst = 0.0
        for (n, d) in Self.oddShapes {
            var rng = SeededRandom(seed: UInt64(n * 10_007 + d) &+ (fp16 ? 1 : 0) &+ (positive ? 2 : 0))
            let lo: Float = positive ? 0.05 : -2, hi: Float = positive ? 1 : 2
            var keys = rng.floats(n * d, lo, hi)
            var half: [UInt16]? = nil
            if fp16 {
                let h = keys.map { HalfFloat.fp16(from: $0) }
                keys = h.map { HalfFloat.float(fromFP16: $0) }   // the exact values the kernel sees
                half = h
            }
            let p = rng.floats(d, positive ? 0.05 : -1, 1), u = rng.floats(d, positive ? 0.05 : -1, 1)
            #expect(keys.contains { $0 != 0 } && p.contains { $0 != 0 })
            for level in KernelLevel.available {
                let r = Self.score(level: level, f32: fp16 ? nil : keys, f16: half, p: p, u: u, lambda: lambda, n: n, d: d)
                for j in 0..<n {
                    let (dp, du, kn, pn, un) = Self.reference64(keys[(j * d)..<((j + 1) * d)], p, u)
                    let cos = dp / (kn * pn), cosU = cos + Double(lambda) * du / (kn * un)
                    let scales = positive ? (abs(cos), abs(cosU), abs(dp)) : (1.0, 1.0 + Double(lambda), kn * pn)
                    let errors = (abs(Double(r.plain[j]) - cos) / scales.0, abs(Double(r.question[j]) - cosU) / scales.1,
                                  abs(Double(r.dots[j]) - dp) / scales.2)
                    worst = max(worst, errors.0, errors.1, errors.2)
                    #expect(errors.0 <= 1e-6, "\(level) n \(n) d \(d) block \(j): cosine relative error \(errors.0)")
                    #expect(errors.1 <= 1e-6, "\(level) n \(n) d \(d) block \(j): cosine+question relative error \(errors.1)")
                    #expect(errors.2 <= 1e-6, "\(level) n \(n) d \(d) block \(j): inner product relative error \(errors.2)")
                }
            }
        }
        #expect(worst > 0, "the kernels round in Float32, so a zero error everywhere would mean the reference is not independent")
    }

    @Test("Float32 keys: every level (SIMD and the portable fallback) within 1e-6 relative of Float64, odd D and N",
          arguments: [false, true])
    func float32KeysAllLevels(positive: Bool) throws { try checkAllLevels(fp16: false, positive: positive) }

    @Test("fp16 keys: every level (F16C SIMD and the portable fallback) within 1e-6 relative of Float64, odd D and N",
          arguments: [false, true])
    func fp16KeysAllLevels(positive: Bool) throws { try checkAllLevels(fp16: true, positive: positive) }

    @Test("zero keys score 0 (norm floor), and a key holding ±∞ or NaN scores NaN at every level, fp16 or Float32")
    func degenerateKeys() {
        let d = 37, n = 4
        var rng = SeededRandom(seed: 9)
        let p = rng.floats(d)
        var keys = rng.floats(n * d)
        for i in 0..<d { keys[i] = 0 }              // block 0: all zero
        keys[d + 5] = .infinity                      // block 1: +∞
        keys[2 * d + 36] = .nan                      // block 2: NaN in the tail
        let half = keys.map { HalfFloat.fp16(from: $0) }
        for level in KernelLevel.available {
            for f16 in [false, true] {
                let r = Self.score(level: level, f32: f16 ? nil : keys, f16: f16 ? half : nil, p: p, u: p, lambda: 1, n: n, d: d)
                #expect(r.plain[0] == 0 && r.question[0] == 0 && r.dots[0] == 0, "\(level) fp16 \(f16)")
                #expect(r.plain[1].isNaN && r.plain[2].isNaN, "\(level) fp16 \(f16)")
                #expect(r.plain[3].isFinite && abs(r.plain[3]) <= 1, "\(level) fp16 \(f16)")
            }
        }
    }
}

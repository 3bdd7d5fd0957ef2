/// Vectorised exponential and softmax kernels used by attention and sampling.
public enum Softmax {
    /// e^x for 16 lanes: range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-7 Taylor
    /// polynomial for e^r and 2^n from the exponent bits. Relative error ≤ 2e-7 for
    /// x ∈ [−87, 88]; inputs below −87 return ≈ e^−87 (callers subtract the row maximum).
    @inlinable @inline(__always)
    public static func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let xc = x.clamped(lowerBound: SIMD16(repeating: -87), upperBound: SIMD16(repeating: 88))
        let n = (xc * 1.442_695_04).rounded(.toNearestOrEven)
        let r = (xc - n * 0.693_145_751_953_125) - n * 1.428_606_765_330_187e-6
        var p = SIMD16<Float>(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let magic = SIMD16<Float>(repeating: 12_582_912)  // 1.5 · 2^23
        let bits = unsafeBitCast(n + magic, to: SIMD16<UInt32>.self)
        let scale = unsafeBitCast((bits &- 0x4B3F_FF81) &<< 23, to: SIMD16<Float>.self)
        return p * scale
    }

    /// e^x for one float through the vector kernel.
    @inlinable
    public static func exp(_ x: Float) -> Float { exp16(SIMD16(repeating: x))[0] }

    /// Replaces `x[0..<count]` by softmax(x) (max-subtracted, sums to 1) and returns the sum of
    /// the exponentials before normalisation.
    @inlinable @discardableResult
    public static func normalize(_ x: UnsafeMutablePointer<Float>, count: Int) -> Float {
        precondition(count > 0)
        var maxValue = -Float.infinity
        var i = 0
        if count >= 16 {
            var m = SIMD16<Float>(repeating: -.infinity)
            while i + 16 <= count {
                m = pointwiseMax(m, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
                i += 16
            }
            maxValue = m.max()
        }
        while i < count { maxValue = max(maxValue, x[i]); i += 1 }

        var sumV = SIMD16<Float>(repeating: 0)
        i = 0
        let mv = SIMD16<Float>(repeating: maxValue)
        while i + 16 <= count {
            let e = exp16(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - mv)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD16<Float>.self)
            sumV += e
            i += 16
        }
        var sum = sumV.sum()
        while i < count { let e = exp(x[i] - maxValue); x[i] = e; sum += e; i += 1 }
        let inv = 1 / sum
        let iv = SIMD16<Float>(repeating: inv)
        i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * iv
            UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { x[i] *= inv; i += 1 }
        return sum
    }
}

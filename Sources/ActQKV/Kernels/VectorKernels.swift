import CActQKVKernels

/// Float32 vector kernels used by scoring and attention. Each loop keeps several independent SIMD
/// accumulators so that release builds vectorise and pipeline them; tails are handled scalar.
/// All pointers must address at least `count` elements; nothing is checked here (callers validate).
public enum VectorKernels {
    /// Σ a[i]·b[i] over `count` elements.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i &+ 32 <= count {
            let o = i &* 4
            s0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            s1 += ra.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            s2 += ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
            s3 += ra.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
            i &+= 32
        }
        while i &+ 8 <= count {
            let o = i &* 4
            s0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            i &+= 8
        }
        var s = ((s0 + s1) + (s2 + s3)).sum()
        while i < count { s += a[i] * b[i]; i &+= 1 }
        return s
    }

    /// Σ a[i] over `count` elements (the memory-bandwidth floor of the scoring benchmark).
    @inlinable
    public static func sum(_ a: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i &+ 32 <= count {
            let o = i &* 4
            s0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            s1 += ra.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            s2 += ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
            s3 += ra.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
            i &+= 32
        }
        var s = ((s0 + s1) + (s2 + s3)).sum()
        while i < count { s += a[i]; i &+= 1 }
        return s
    }

    /// y[i] += a·x[i] over `count` elements.
    @inlinable
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let av = SIMD8<Float>(repeating: a)
        var i = 0
        while i &+ 8 <= count {
            let o = i &* 4
            let v = ry.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            ry.storeBytes(of: v, toByteOffset: o, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count { y[i] += a * x[i]; i &+= 1 }
    }

    /// Σ a[i] over `count` elements by the C kernel at `kernel` (eight independent vector
    /// accumulators): the memory-bandwidth floor of `actqkv bench scoring`, matched to the ISA of
    /// the scoring kernels.
    public static func sum(_ a: UnsafePointer<Float>, count: Int, kernel: KernelLevel) -> Float {
        aqs_sum_f32(kernel.rawValue, a, count)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Timing helpers for `kvctl bench`.
enum BenchMeasurements {
    /// Monotonic time in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The `q`-quantile (0…1) of `samples` (nearest rank).
    static func quantile(_ samples: [Double], _ q: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        let rank = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[rank]
    }

    static func median(_ values: [Double]) -> Double { quantile(values, 0.5) }

    /// Sequential read bandwidth of this machine in bytes per second: the best of several passes
    /// summing a 256 MiB Float buffer (larger than any cache).
    static func memoryReadBandwidth(bytes: Int = 256 << 20, passes: Int = 5) -> Double {
        let count = bytes / 4
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float(i & 1023) }
        var best = 0.0
        var sink: Float = 0
        for _ in 0..<passes {
            let start = now()
            var a = SIMD8<Float>(), b = SIMD8<Float>()
            let raw = UnsafeRawPointer(buffer.baseAddress!)
            var i = 0
            while i + 16 <= count {
                a += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                b += raw.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                i += 16
            }
            sink += (a + b).sum()
            let seconds = now() - start
            best = max(best, Double(bytes) / seconds)
        }
        if sink == .infinity { print("") }  // keep the loop
        return best
    }
}

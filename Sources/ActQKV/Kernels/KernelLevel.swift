import CActQKVKernels

/// Which implementation of the block-scoring and 16-bit conversion kernels runs. The best level
/// the CPU supports is detected at run time (once), so one binary runs on any x86-64 and on
/// aarch64; a lower level can be requested per call (tests, benchmarks). A level above what the
/// CPU supports runs the best supported one. Every level accumulates in Float32; results differ
/// only by the rounding of the summation order (conversions are bit-identical across levels).
public enum KernelLevel: Int32, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Portable C compiled for the baseline target (SSE2 on x86-64, NEON on aarch64): every CPU.
    case portable = 0
    /// x86-64 AVX2 + FMA + F16C (hardware fp16 → Float32 widening).
    case avx2 = 1
    /// x86-64 AVX-512 F/BW/VL (with AVX2, FMA, F16C): 16 lanes, masked row tails.
    case avx512 = 2

    /// The best level this CPU supports.
    public static var best: KernelLevel { KernelLevel(rawValue: aqs_best_level()) ?? .portable }

    /// The levels this CPU can run, lowest first (always contains ``portable``).
    public static var available: [KernelLevel] { allCases.filter { $0 <= best } }

    /// The level a call requesting `self` actually runs: `min(self, best)`.
    public var effective: KernelLevel { KernelLevel(rawValue: aqs_effective_level(rawValue)) ?? .portable }

    /// Parses `portable`, `avx2`, `avx512` or `best` (the CLI spelling).
    public init?(name: String) {
        switch name {
        case "portable": self = .portable
        case "avx2": self = .avx2
        case "avx512": self = .avx512
        case "best": self = .best
        default: return nil
        }
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

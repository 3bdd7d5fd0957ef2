import CBLAS
import CInferenceKernels
import Dispatch
import Foundation

/// How the forward pass uses the cores: OpenBLAS runs single-threaded and the forward pass splits
/// work itself (GEMM column ranges, attention heads, matrix–vector row ranges) over
/// `DispatchQueue.concurrentPerform`, whose workers block instead of spinning — OpenBLAS's own
/// spinning threads degrade badly when the machine is oversubscribed.
public enum ComputeThreads {
    /// Number of parallel parts work is split into (the active processor count).
    public static let parallelism = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private static let configured: Bool = {
        openblas_set_num_threads(1)
        aqk_keep_large_allocations()
        return true
    }()

    /// Switches OpenBLAS to one thread per call and keeps large allocations in glibc's heap
    /// (process-wide; idempotent; done by ``DecoderModel`` on creation).
    public static func configure() { _ = configured }

    /// Runs `body(part)` for `part` in `0..<parts`, in parallel when `parts > 1`. Every part runs
    /// at the calling thread's kernel level and VNNI switch (`aqk_set_kernel_level`,
    /// `aqk_set_vnni`), and the worker threads get their own back afterwards.
    static func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 { body(0); return }
        let level = aqk_kernel_level(), vnni = aqk_vnni_allowed()
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let own = aqk_kernel_level(), ownVNNI = aqk_vnni_allowed()
            aqk_set_kernel_level(level)
            aqk_set_vnni(vnni)
            defer { aqk_set_kernel_level(own); aqk_set_vnni(ownVNNI) }
            body(part)
        }
    }
}

/// The instruction sets the matrix–vector kernels (`CInferenceKernels`) may use on the calling
/// thread, for benchmarks and tests: the per-thread level cap and VNNI switch of the C kernels.
public enum KernelInstructionSet: String, Sendable, CaseIterable {
    /// Portable C (kernel level 0).
    case portable
    /// AVX2/FMA (level 1).
    case avx2
    /// AVX-512 F/BW/VL without VNNI (level 2, VNNI off).
    case avx512
    /// AVX-512 with VNNI (level 2, the default where the CPU has avx512_vnni).
    case avx512vnni

    /// Whether this CPU runs this set (a set it lacks falls back to the best it has).
    public var isAvailable: Bool {
        withInstructionSet(self) {
            switch self {
            case .portable: true
            case .avx2: aqk_uses_avx2() == 1
            case .avx512: aqk_uses_avx512() == 1
            case .avx512vnni: aqk_uses_vnni() == 1
            }
        }
    }
}

/// Runs `body` with the calling thread's kernels capped at `set` (and its `ComputeThreads` parts),
/// then restores the thread's level and VNNI switch.
public func withInstructionSet<T>(_ set: KernelInstructionSet, _ body: () throws -> T) rethrows -> T {
    let level = aqk_kernel_level(), vnni = aqk_vnni_allowed()
    defer { aqk_set_kernel_level(level); aqk_set_vnni(vnni) }
    switch set {
    case .portable: aqk_set_kernel_level(0)
    case .avx2: aqk_set_kernel_level(1)
    case .avx512: aqk_set_kernel_level(2); aqk_set_vnni(0)
    case .avx512vnni: aqk_set_kernel_level(2); aqk_set_vnni(1)
    }
    return try body()
}

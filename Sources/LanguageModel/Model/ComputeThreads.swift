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
        return true
    }()

    /// Switches OpenBLAS to one thread per call (idempotent; done by ``DecoderModel`` on creation).
    public static func configure() { _ = configured }

    /// Runs `body(part)` for `part` in `0..<parts`, in parallel when `parts > 1`. Every part runs
    /// at the calling thread's kernel level (`aqk_set_kernel_level`), and the worker threads get
    /// their own level back afterwards.
    static func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 { body(0); return }
        let level = aqk_kernel_level()
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let own = aqk_kernel_level()
            aqk_set_kernel_level(level)
            defer { aqk_set_kernel_level(own) }
            body(part)
        }
    }
}

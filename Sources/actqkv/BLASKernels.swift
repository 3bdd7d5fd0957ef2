import CBLAS
import CInferenceKernels
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS picks its GEMM kernels for the CPU when the library loads. Debian 12's OpenBLAS
/// (0.3.21) does not recognise recent Intel CPUs (e.g. Sapphire Rapids) and falls back to its
/// Prescott (SSE3) kernels: batched products (prefill) ran ≈ 3.7× slower than with its
/// SkylakeX kernels on the AVX-512 machine of docs/BENCHMARKS.md. The choice can only be
/// changed by `OPENBLAS_CORETYPE` before the library loads, so `actqkv` re-executes itself
/// once with it set when OpenBLAS chose Prescott on a CPU with AVX-512 or AVX2. An explicit
/// `OPENBLAS_CORETYPE` is always left alone.
enum BLASKernels {
    /// The OpenBLAS core type the CPU can run better than Prescott, if OpenBLAS fell back to it.
    static var betterCoreType: String? {
        guard getenv("OPENBLAS_CORETYPE") == nil, let name = openblas_get_corename(),
              String(cString: name).lowercased() == "prescott" else { return nil }
        if aqk_uses_avx512() != 0 { return "SkylakeX" }
        if aqk_uses_avx2() != 0 { return "Haswell" }
        return nil
    }

    /// Re-executes this process with `OPENBLAS_CORETYPE` set when ``betterCoreType`` names one;
    /// returns (and runs on as is) otherwise or if the re-execution fails.
    static func reexecuteWithBetterKernels() {
        guard let core = betterCoreType else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}

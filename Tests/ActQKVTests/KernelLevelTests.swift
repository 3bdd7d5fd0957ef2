import Foundation
import Testing
@testable import ActQKV

@Suite("KernelLevel")
struct KernelLevelTests {
    /// The CPU feature flags from /proc/cpuinfo (Linux), or nil elsewhere.
    static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    @Test("run-time dispatch picks the best level the CPU reports (SIMD on an AVX2/F16C machine)")
    func detection() throws {
        #expect(KernelLevel.available.first == .portable)
        #expect(KernelLevel.available.last == KernelLevel.best)
        #if arch(x86_64) && os(Linux)
        let flags = try #require(Self.cpuFlags())
        let v3 = ["avx2", "fma", "f16c"].allSatisfy(flags.contains)
        let v4 = v3 && ["avx512f", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
        #expect(KernelLevel.best == (v4 ? .avx512 : v3 ? .avx2 : .portable))
        #else
        #expect(KernelLevel.best == .portable)
        #endif
    }

    @Test("a requested level runs min(requested, best); names parse")
    func clamping() {
        for level in KernelLevel.allCases {
            #expect(level.effective == min(level, KernelLevel.best))
        }
        #expect(KernelLevel(name: "portable") == .portable)
        #expect(KernelLevel(name: "avx2") == .avx2)
        #expect(KernelLevel(name: "avx512") == .avx512)
        #expect(KernelLevel(name: "best") == KernelLevel.best)
        #expect(KernelLevel(name: "sse9") == nil)
    }
}

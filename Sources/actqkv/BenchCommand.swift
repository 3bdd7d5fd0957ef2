import ActQKV
import ArgumentParser
import CoreTypes
#if canImport(Glibc)
import Glibc
#endif

/// `actqkv bench …`: micro-benchmarks of the ActQKV kernels, the GGUF reader, the quantised
/// matrix–vector kernels and the tokenizer.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the retrieval kernels, the GGUF reader and the tokenizer.",
        subcommands: [ScoringBench.self, AttentionBench.self, GGUFBench.self, KernelsBench.self, TokenizerBench.self])
}

/// `actqkv bench scoring`: cosine scoring of N block keys of width D against one probe, from Float32
/// and from fp16 keys, in GB/s of keys read, next to a plain Float32 sum over the same bytes (the
/// single-core memory-bandwidth floor, always run with the best kernel level the CPU has), medians
/// of `--runs` timed runs. `--kernel` forces the scoring kernels' level (e.g. the portable fallback).
struct ScoringBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scoring",
        abstract: "Cosine block scoring throughput vs. a plain sum over the same bytes (one core).")

    @Option(help: "Block counts N, comma-separated.")
    var blocks: String = "1024,4096,16384"

    @Option(help: "Key widths D (= query heads × head dim), comma-separated.")
    var widths: String = "576,4096"

    @Option(help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 7

    @Option(help: "Minimum bytes read per timed run, in bytes (small key sets are scanned repeatedly).")
    var minBytes: Int = 256 << 20

    @Option(help: "Scoring kernel level: best, avx512, avx2 or portable (a level the CPU lacks runs the best it has).")
    var kernel: String = "best"

    @Option(help: """
        Where the keys are when scored: memory (each scan reads another of enough copies to span         256 MiB, so keys come from DRAM, as in the daemon, which scores each of a model's layers         once per chunk) or cache (one copy scanned repeatedly; small key sets stay in L2/L3).
        """)
    var residency: String = "memory"

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1") }
        guard minBytes >= 1 else { throw ValidationError("--min-bytes must be ≥ 1") }
        guard KernelLevel(name: kernel) != nil else { throw ValidationError("--kernel takes best, avx512, avx2 or portable") }
        guard ["memory", "cache"].contains(residency) else { throw ValidationError("--residency takes memory or cache") }
        guard Self.parse(blocks) != nil, Self.parse(widths) != nil else {
            throw ValidationError("--blocks and --widths take comma-separated positive integers")
        }
    }

    static func parse(_ s: String) -> [Int]? {
        let v = s.split(separator: ",").map { Int($0.filter { $0 != " " }) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return v.map { $0! }
    }

    func run() throws {
        let level = KernelLevel(name: kernel)!.effective, floorLevel = KernelLevel.best
        print("actqkv bench scoring: one core, median of \(runs) runs; GB/s = 10^9 bytes of keys read per CPU-second of the thread")
        print("kernels: scoring \(level), floor sum \(floorLevel) (best on this CPU: \(KernelLevel.best))")
        print("ratio = median over runs of (cosine GB/s ÷ sum GB/s) measured back to back")
        print("keys resident in \(residency == "memory" ? "memory (each scan reads another copy; copies span 256 MiB)" : "cache (one copy scanned repeatedly)")")
        print("      N     D keys  MB/scan  sum GB/s  cosine GB/s  ratio  ns/block")
        var sink: Float = 0
        for d in Self.parse(widths)! {
            for n in Self.parse(blocks)! {
                var state = UInt64(0x5EED) &+ UInt64(n &* d)
                func next() -> Float {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
                }
                let one = (0..<(n * d)).map { _ in next() }
                let oneHalf = one.map { HalfFloat.fp16(from: $0) }
                // Scan r reads copy r % copies: with copies spanning 256 MiB, every scan misses the caches.
                let span = residency == "memory" ? 256 << 20 : 0
                let copies32 = max(1, span / (n * d * 4)), copies16 = max(1, span / (n * d * 2))
                let keys = Array((0..<copies32).map { _ in one }.joined())
                let half = Array((0..<copies16).map { _ in oneHalf }.joined())
                let probe = (0..<d).map { _ in next() }
                var scores = [Float](repeating: 0, count: n)
                for (label, bytes) in [("f32", n * d * 4), ("f16", n * d * 2)] {
                    let reps = max(1, minBytes / bytes)
                    let sumBody = {
                        keys.withUnsafeBufferPointer { k in
                            for r in 0..<reps {
                                sink += VectorKernels.sum(k.baseAddress! + (r % copies32) * n * d, count: bytes / 4, kernel: floorLevel)
                            }
                        }
                    }
                    let cosBody = {
                        probe.withUnsafeBufferPointer { p in
                            scores.withUnsafeMutableBufferPointer { s in
                                if label == "f32" {
                                    keys.withUnsafeBufferPointer { k in
                                        for r in 0..<reps {
                                            BlockScoring.cosines(probe: p.baseAddress!, question: nil, questionWeight: 0,
                                                                 keys: k.baseAddress! + (r % copies32) * n * d, count: n, width: d, into: s.baseAddress!, kernel: level)
                                        }
                                    }
                                } else {
                                    half.withUnsafeBufferPointer { k in
                                        for r in 0..<reps {
                                            BlockScoring.cosines(probe: p.baseAddress!, question: nil, questionWeight: 0,
                                                                 fp16Keys: k.baseAddress! + (r % copies16) * n * d, count: n, width: d, into: s.baseAddress!,
                                                                 kernel: level)
                                        }
                                    }
                                }
                            }
                        }
                        sink += scores[n - 1]
                    }
                    // Alternate the two so that both see the same machine load; report medians.
                    let (sumTime, cosTime, ratio) = Self.paired(runs, sumBody, cosBody)
                    let total = Double(bytes * reps)
                    let sumGBs = total / sumTime / 1e9, cosGBs = total / cosTime / 1e9
                    _ = sumGBs
                    print(Self.pad(n, 7), Self.pad(d, 5), " ", label, Self.pad(Self.fixed(Double(bytes) / 1e6, 1), 8),
                          Self.pad(Self.fixed(sumGBs, 1), 9), Self.pad(Self.fixed(cosGBs, 1), 12),
                          Self.pad(Self.fixed(ratio, 2), 6), Self.pad(Self.fixed(cosTime / Double(reps * n) * 1e9, 1), 9))
                }
            }
        }
        print("(checksum \(sink))")
    }

    /// Runs `a` and `b` alternately `runs` times (after one untimed warm-up each) and returns the
    /// median time of each, in seconds of the calling thread's CPU time (so that time spent
    /// descheduled on a shared machine is not counted), and the median of the per-run ratios
    /// time(a)/time(b).
    static func paired(_ runs: Int, _ a: () -> Void, _ b: () -> Void) -> (Double, Double, Double) {
        a(); b()
        func measure(_ body: () -> Void) -> Double {
            let t0 = AttentionBench.threadCPUSeconds()
            body()
            return AttentionBench.threadCPUSeconds() - t0
        }
        var ta: [Double] = [], tb: [Double] = [], ratios: [Double] = []
        for _ in 0..<runs {
            let x = measure(a), y = measure(b)
            ta.append(x); tb.append(y); ratios.append(x / y)
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        return (median(ta), median(tb), median(ratios))
    }

    static func pad(_ v: Int, _ w: Int) -> String { pad(String(v), w) }
    static func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
    static func fixed(_ x: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = Int((x * scale).rounded())
        let whole = r / Int(scale), frac = String(abs(r % Int(scale)))
        return "\(whole)." + String(repeating: "0", count: digits - frac.count) + frac
    }
}

/// `actqkv bench attention`: one layer's worker-side joint attention (`LayerMemory.process`) over a
/// long sequence in execution chunks, every closed block recalled up to K per chunk (InfLLM
/// selection), next to the `dense` method over the same tokens; tokens per second, one core.
struct AttentionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Joint attention of one layer (window + sink + K recalled blocks) vs dense attention.")

    @Option(help: "Tokens processed.") var tokens: Int = 4096
    @Option(help: "Query heads H.") var heads: Int = 9
    @Option(help: "KV heads H_kv.") var kvHeads: Int = 3
    @Option(help: "Head dimension d.") var headDim: Int = 64
    @Option(help: "Timed runs (the median is reported).") var runs: Int = 3

    func run() throws {
        let shape = try AttentionShape(heads: heads, kvHeads: kvHeads, headDim: headDim)
        let config = RetrievalConfig()
        let rope = RotaryEmbedding(headDim: headDim, base: 100_000, convention: .interleaved)
        var state: UInt64 = 42
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
        }
        let q = (0..<(tokens * shape.queryWidth)).map { _ in next() }
        let k = (0..<(tokens * shape.kvWidth)).map { _ in next() }
        let v = (0..<(tokens * shape.kvWidth)).map { _ in next() }
        print("actqkv bench attention: H \(heads), H_kv \(kvHeads), d \(headDim), \(tokens) tokens, chunks of \(config.chunkTokens), median of \(runs)")
        for method in [RetrievalMethod.infllm, .dense] {
            var times: [Double] = [], cpuTimes: [Double] = []
            for _ in 0..<runs {
                let cpu0 = Self.threadCPUSeconds()
                var memory = LayerMemory(shape: shape, config: config, method: method, rope: rope)
                var blocks: [BlockKV] = []
                let clock = ContinuousClock()
                let t = try clock.measure {
                    var start = 0
                    while start < tokens {
                        let c = min(config.chunkTokens, tokens - start)
                        let qs = Array(q[(start * shape.queryWidth)..<((start + c) * shape.queryWidth)])
                        let ks = Array(k[(start * shape.kvWidth)..<((start + c) * shape.kvWidth)])
                        let vs = Array(v[(start * shape.kvWidth)..<((start + c) * shape.kvWidth)])
                        let recalled = method == .dense ? [] : Array(blocks.suffix(config.topK))
                        let r = try memory.process(queries: qs, keys: ks, values: vs, count: c, recalled: recalled)
                        blocks += r.closed.map(\.kv)
                        start += c
                    }
                }
                times.append(t.seconds)
                cpuTimes.append(Self.threadCPUSeconds() - cpu0)
            }
            times.sort(); cpuTimes.sort()
            let med = times[times.count / 2], cpu = cpuTimes[cpuTimes.count / 2]
            print("\(method)".padding(12), "wall \(ScoringBench.fixed(med, 3)) s", "cpu \(ScoringBench.fixed(cpu, 3)) s",
                  "\(ScoringBench.fixed(Double(tokens) / cpu, 1)) tokens/cpu-s per layer")
        }
    }
}

extension AttentionBench {
    /// CPU time consumed by the calling thread, in seconds (insensitive to other processes' load).
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

extension String {
    fileprivate func padding(_ w: Int) -> String { self + String(repeating: " ", count: max(0, w - count)) }
}

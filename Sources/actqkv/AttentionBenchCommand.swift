import ActQKV
import ArgumentParser
import Dispatch
import Foundation
import LanguageModel
import Worker

/// `actqkv bench-attention`: one layer's joint attention for one prefill chunk, as the worker runs
/// it, with ActQKV's portable engine and the worker's BLAS engine in the same run.
struct AttentionBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-attention",
        abstract: "Joint attention of one chunk and layer (SmolLM2 shape, default settings): PortableJointAttention vs BLASJointAttention.")

    @Option(help: "Tokens already processed before the timed chunk.")
    var position = 4096
    @Option(help: "Recalled blocks per chunk.")
    var blocks = 46
    @Option(name: .customLong("row-block"), help: "Query rows per block of the BLAS engine.")
    var rowBlock = 64
    @Option(help: "Timed repetitions per engine (the median is reported).")
    var runs = 5

    func run() throws {
        ComputeThreads.configure()  // single-threaded OpenBLAS calls, as in the worker (DecoderModel does this)
        let shape = try AttentionShape(heads: 9, kvHeads: 3, headDim: 64)
        let config = RetrievalConfig()
        let rope = ActQKV.RotaryEmbedding(headDim: 64, base: 100_000, convention: .neox)
        var rng = SystemRandomNumberGenerator()
        func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        let e = config.chunkTokens
        var memory = LayerMemory(shape: shape, config: config, method: .infllm, rope: rope)
        var closed: [BlockKV] = []
        let blas = BLASJointAttention(rowBlock: rowBlock)
        while memory.position + e <= position {
            let r = try memory.process(queries: floats(e * shape.queryWidth), keys: floats(e * shape.kvWidth), values: floats(e * shape.kvWidth),
                                       count: e, recalled: Array(closed.suffix(blocks)), engine: blas)
            closed += r.closed.map(\.kv)
        }
        let recalled = Array(closed.suffix(blocks))
        let q = floats(e * shape.queryWidth), k = floats(e * shape.kvWidth), v = floats(e * shape.kvWidth)
        func time(_ engine: any JointAttentionEngine) throws -> (median: Double, output: [Float]) {
            var samples: [Double] = []
            var output: [Float] = []
            for _ in 0..<runs {
                var m = memory
                let t0 = DispatchTime.now().uptimeNanoseconds
                output = try m.process(queries: q, keys: k, values: v, count: e, recalled: recalled, engine: engine).output
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            return (samples.sorted()[samples.count / 2], output)
        }
        let portable = try time(PortableJointAttention()), fast = try time(blas)
        var num = 0.0, den = 0.0
        for i in fast.output.indices {
            num = max(num, abs(Double(fast.output[i]) - Double(portable.output[i]))); den = max(den, abs(Double(portable.output[i])))
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print(String(format: "joint attention, 1 layer, chunk %d tokens at position %d, %d recalled blocks (%d keys per query head): portable %.1f ms, BLAS %.1f ms (median of %d), speed-up %.1fx, max relative difference %.1e; load average %@",
                     e, memory.position, recalled.count, config.sinkTokens + recalled.count * config.blockSize + config.localWindow,
                     portable.median, fast.median, runs, portable.median / fast.median, num / den, load))
    }
}

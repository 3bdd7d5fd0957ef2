import ArgumentParser
import Foundation
import LanguageModel

/// `actqkv bench gguf`: opening the model, dequantising every tensor, and matrix-vector products
/// on encoded weights vs. dequantise-then-dot vs. BLAS (``GGUFBenchmark``), medians of `--runs`.
struct GGUFBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "GGUF open, dequantisation and quantised matrix-vector throughput.")

    @Option(help: "GGUF model file. Default: the cached default model.")
    var model: String = KnownModel.path(for: nil)

    @Option(help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 7

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1") }
    }

    func run() throws {
        print(try GGUFBenchmark.run(modelPath: model, repetitions: runs))
    }
}

/// `actqkv bench kernels`: the quantised matrix–vector products at Gemma 3 270M's shapes, per
/// format and instruction set (portable, AVX2, AVX-512, AVX-512 VNNI, those the CPU has), with
/// 8-bit activations (the default) and optionally Float32 ones (``KernelBenchmark``).
struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Quantised matrix-vector ns per product per format and instruction set (Gemma 3 shapes).")

    @Option(help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 9

    @Flag(help: "Also time the Float32-activation products.")
    var float32 = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1") }
    }

    func run() throws {
        print(KernelBenchmark.report(KernelBenchmark.run(repetitions: runs, float32: float32)))
    }
}

/// `actqkv bench tokenizer`: building the tokenizer and encoding 32K-token inputs (prose from
/// `--corpus`, random tokens, one long word) with the default BPE and its baselines
/// (``TokenizerBenchmark``), medians of `--runs`.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Tokenizer build and encode/decode throughput on 32K-token inputs.")

    @Option(help: "GGUF model file. Default: the cached default model.")
    var model: String = KnownModel.path(for: nil)

    @Option(help: "Natural-text file, repeated to the target size (e.g. /usr/share/common-licenses/GPL-3).")
    var corpus: String

    @Option(help: "Input size in tokens.")
    var tokens: Int = 32_768

    @Option(help: "Timed runs per measurement (the median is reported).")
    var runs: Int = 15

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1") }
        guard tokens >= 1 else { throw ValidationError("--tokens must be ≥ 1") }
    }

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: corpus, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read --corpus \(corpus): \(error.localizedDescription)")
        }
        guard !text.isEmpty else { throw ValidationError("--corpus \(corpus) is empty") }
        print(try TokenizerBenchmark.run(modelPath: model, corpus: text, targetTokens: tokens, repetitions: runs))
    }
}

import ArgumentParser

/// Root of the `actqkv` worker CLI: run a model, evaluate, benchmark.
@main
struct ActQKVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actqkv",
        abstract: "Run a GGUF model over long inputs with the kvd KV-cache daemon.",
        subcommands: [GenerateCommand.self, RunCommand.self, ServeCommand.self, EvalCommand.self, BenchCommand.self,
                      AttentionBenchCommand.self]
    )

    /// Runs the command line, first making sure OpenBLAS uses kernels for this CPU (``BLASKernels``).
    static func main() async {
        BLASKernels.reexecuteWithBetterKernels()
        await main(nil)
    }
}

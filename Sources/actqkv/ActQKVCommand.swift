import ArgumentParser

/// Root of the `actqkv` worker CLI. (Minimal root of the ActQKV branch; the forward-pass branch
/// owns the real one, which lists ``BenchCommand``.)
@main
struct ActQKVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actqkv",
        abstract: "Run a model over a long input with the KV daemon, evaluate, benchmark.",
        subcommands: [BenchCommand.self])
}

import ArgumentParser

/// The user-facing worker CLI.
@main
struct ActQKVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actqkv",
        abstract: "Run a GGUF model over long inputs with the kvd KV-cache daemon.",
        subcommands: [GenerateCommand.self]
    )
}

import ArgumentParser

/// `kvstress`: reliability drivers for a kvd — crash cycles, random frames, a many-client soak.
/// Each subcommand prints its figures (the lines docs/BENCHMARKS.md quotes) and exits non-zero
/// when it saw a failure. Not a test: these run for minutes.
@main
struct KvstressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvstress",
        abstract: "Reliability drivers for kvd: crash cycles, random frames, many-client soak.",
        subcommands: [CrashCyclesCommand.self, FramesCommand.self, SoakCommand.self]
    )
}

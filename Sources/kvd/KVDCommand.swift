import ArgumentParser
import KVDaemon
import Logging

/// `kvd`: the persistent KV-block daemon. Wiring only: flags → `DaemonConfiguration` →
/// `DaemonServer`.
@main
struct KVDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvd",
        abstract: "Persistent KV-cache block daemon (LMDB + zstd) serving a binary protocol on a Unix socket.",
        subcommands: [Serve.self]
    )
}

import ArgumentParser
import KVDaemon
import Foundation
import Logging

/// `kvd`: the persistent KV-block daemon. Wiring only: flags → `DaemonConfiguration` →
/// `DaemonServer`.
@main
struct KVDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvd",
        abstract: "Persistent KV-cache block daemon (LMDB + zstd) serving a binary protocol on a Unix socket.",
        discussion: """
            Options of `serve` may also come from the environment (KVD_SOCKET, KVD_DATA, KVD_DURABILITY, …: \
            the long name upper-cased, - → _) and from a config file (--config PATH or KVD_CONFIG; lines \
            `option = value`). Precedence: flags, then environment, then config file, then the defaults shown.
            """,
        subcommands: [Serve.self]
    )

    static func main() async {
        do {
            let arguments = try LayeredArguments.resolve(
                Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

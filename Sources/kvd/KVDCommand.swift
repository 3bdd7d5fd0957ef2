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
        subcommands: [Serve.self, ConfigCommand.self]
    )

    static func main() async {
        let original = Array(CommandLine.arguments.dropFirst())
        let environment = ProcessInfo.processInfo.environment
        // `config print` takes the options of `serve`, layered the same way.
        let printsConfig = original.starts(with: ["config", "print"])
        let layered = printsConfig ? ["serve"] + original.dropFirst(2) : original
        do {
            var arguments = try LayeredArguments.resolve(layered, environment: environment)
            if printsConfig { arguments = ["config", "print"] + arguments.dropFirst() }
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: attributed(error, origins: LayeredArguments.origins(layered, environment: environment)))
        }
    }

    /// `error` with the source of the offending option appended when that value came from the
    /// environment or the config file (the message names `--option`; the operator needs to
    /// know it was `KVD_OPTION` or a config-file line).
    static func attributed(_ error: any Error, origins: [String: String]) -> any Error {
        let text = message(for: error)
        guard !text.isEmpty else { return error }
        let sources = LayeredArguments.options.compactMap { option -> String? in
            guard text.contains("--\(option)"), let origin = origins[option], !origin.hasPrefix("flag") else { return nil }
            return "--\(option) comes from \(origin)"
        }
        guard !sources.isEmpty else { return error }
        return ConfigurationValueError(description: text + " (" + sources.joined(separator: "; ") + ")")
    }
}

/// A bad configuration value, with where it came from (exit status 1).
struct ConfigurationValueError: Error, CustomStringConvertible {
    let description: String
}

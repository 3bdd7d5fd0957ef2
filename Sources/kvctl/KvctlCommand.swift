import ArgumentParser
import Foundation
import KVClient

/// `kvctl`: admin and inspection CLI for a running kvd. Wiring only: flags → KVClient calls →
/// printed replies.
@main
struct KvctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "Inspect and administer a running kvd through its socket.",
        subcommands: [StatsCommand.self, SessionsCommand.self, InspectCommand.self, BlocksCommand.self, DropCommand.self, VerifyCommand.self,
                      BackupCommand.self, CompactCommand.self, ReloadCommand.self, BenchCommand.self, TierBenchCommand.self, CodecCommand.self]
    )

    /// `--socket` may be given before the subcommand (`kvctl --socket PATH stats`) or after it.
    @OptionGroup var connection: ConnectionOptions
}

/// Options every subcommand takes.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Socket of the running kvd.")
    var socket: String = "/run/kvd/kvd.sock"

    func connect() async throws -> KVClient { try await KVClient.connect(socketPath: socket) }
}

/// Runs `body`, turning a client or daemon error into exit status 1 with its description
/// (a daemon error shows its name and code, e.g. `sessionNotFound (10)`).
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as KVClientError {
        FileHandle.standardError.write(Data("kvctl: \(error)\n".utf8))
        throw ExitCode(1)
    } catch let error as KvctlError {
        FileHandle.standardError.write(Data("kvctl: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Prints a JSON value (dictionaries with sorted keys).
func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// A kvctl failure that is not an error reply of the daemon.
struct KvctlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}


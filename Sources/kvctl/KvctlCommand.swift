import ArgumentParser
import Foundation
import Protocol

/// `kvctl`: admin and inspection CLI for a running kvd. Wiring only: flags → requests →
/// printed replies.
@main
struct KvctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "Inspect and administer a running kvd through its socket.",
        subcommands: [StatsCommand.self, SessionsCommand.self, BlocksCommand.self, DropCommand.self, VerifyCommand.self, BenchCommand.self]
    )
}

/// Options every subcommand takes.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Socket of the running kvd.")
    var socket: String = "/run/kvd/kvd.sock"

    func connect() throws -> DaemonConnection { try DaemonConnection(socketPath: socket) }
}

/// Runs `body`, turning a daemon error reply into exit status 1 with its name and code.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ProtocolError {
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

import ArgumentParser
import KVClient
import Protocol

/// `kvctl reload [--log-level LEVEL]`: changes the running kvd's log level without a restart —
/// to LEVEL, or (without it) to what its configuration now says, as SIGHUP does. Administrator
/// uids only.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Set kvd's log level (--log-level) or make it re-read its configuration, without a restart.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. Default: re-read kvd's configuration.")
    var logLevel: String?

    func validate() throws {
        if let logLevel, WireLogLevel(name: logLevel) == nil {
            throw ValidationError("--log-level must be one of \(WireLogLevel.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let client = try await connection.connect()
            defer { client.close() }
            let reply = try await client.reload(logLevel: logLevel.flatMap(WireLogLevel.init(name:)))
            print("log level \(reply.previous.name) -> \(reply.current.name)")
        }
    }
}

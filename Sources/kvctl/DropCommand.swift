import ArgumentParser
import KVClient

/// `kvctl drop NAME`: deletes a session.
struct DropCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Drop a session.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Session name.") var name: String

    func run() async throws {
        try await reportingErrors {
            try await connection.connect().dropSession(name)
            print("dropped \(name)")
        }
    }
}

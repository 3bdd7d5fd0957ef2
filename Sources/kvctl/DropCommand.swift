import ArgumentParser
import Protocol

/// `kvctl drop NAME`: deletes a session.
struct DropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Drop a session.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Session name.") var name: String

    func run() throws {
        try reportingErrors {
            _ = try connection.connect().call(.dropSession(SessionRequest(name: name)))
            print("dropped \(name)")
        }
    }
}

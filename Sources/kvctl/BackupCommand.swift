import ArgumentParser
import Foundation
import KVClient

/// `kvctl backup DIR`: the running kvd writes a consistent, compacted copy of its store into DIR
/// (absent or empty; a path on kvd's host, writable by kvd's user) while it keeps serving.
/// Administrator uids only. Restore: stop kvd, replace its data directory's `data.mdb` with the
/// copy's (docs/OPERATIONS.md).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Hot backup: kvd copies its store into DIR (absent or empty) while serving.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Destination directory (made absolute against the current directory).") var directory: String
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let absolute = directory.hasPrefix("/")
            ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        try await reportingErrors {
            let client = try await connection.connect()
            defer { client.close() }
            let reply = try await client.backup(to: absolute)
            if json {
                try printJSON([
                    "directory": absolute, "bytes": reply.bytes, "elapsedMillis": reply.elapsedMillis,
                    "sessions": reply.sessions, "blocks": reply.blocks,
                ] as [String: Any])
            } else {
                print("backup \(absolute): \(reply.bytes) bytes, \(reply.sessions) sessions, \(reply.blocks) blocks in \(reply.elapsedMillis) ms")
            }
        }
    }
}

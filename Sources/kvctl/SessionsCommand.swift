import ArgumentParser
import Foundation
import KVClient

/// `kvctl sessions`: the caller's sessions (every session for an admin uid), all pages.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List sessions visible to the caller: owner, blocks, stored bytes, last use, checkpoint.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let sessions = try await connection.connect().allSessions()
            if json {
                try printJSON(sessions.map { s in
                    [
                        "name": s.name, "owner": s.ownerUID, "layers": s.descriptor.layers, "queryHeads": s.descriptor.queryHeads,
                        "kvHeads": s.descriptor.kvHeads, "headDim": s.descriptor.headDim, "blockSize": s.descriptor.blockSize,
                        "blocks": s.blockCounts.reduce(0, +), "storedBytes": s.storedBytes,
                        "checkpointSequence": s.checkpointSequence.map { $0 as Any } ?? NSNull(),
                        "createdAtMillis": s.createdAtMillis, "lastUsedAtMillis": s.lastUsedAtMillis,
                    ] as [String: Any]
                })
            } else {
                for s in sessions {
                    print("\(s.name)\towner=\(s.ownerUID)\tblocks=\(s.blockCounts.reduce(0, +))\tstored=\(s.storedBytes)\tlast-used=\(formatMillis(s.lastUsedAtMillis))\tcheckpoint=\(s.checkpointSequence.map(String.init) ?? "-")")
                }
            }
        }
    }
}

import ArgumentParser
import Foundation
import KVClient

/// `kvctl inspect SESSION`: one session in detail (model, owner, times, checkpoint, blocks and
/// stored bytes per layer, sharing with forks, open connections) without opening it.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one session in detail.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Session name.") var name: String
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let client = try await connection.connect()
            defer { client.close() }
            let detail = try await client.inspectSession(name)
            let s = detail.info, d = s.descriptor
            let blocks = s.blockCounts.reduce(0) { $0 + Int($1) }
            if json {
                try printJSON([
                    "name": s.name, "owner": s.ownerUID, "layers": d.layers, "queryHeads": d.queryHeads, "kvHeads": d.kvHeads,
                    "headDim": d.headDim, "blockSize": d.blockSize, "elementType": "\(d.elementType)",
                    "blocks": blocks, "blockCounts": s.blockCounts, "storedBytes": s.storedBytes, "rawBytes": detail.rawBytes,
                    "layerStoredBytes": detail.layerStoredBytes, "sharedBlocks": detail.sharedBlocks,
                    "openConnections": detail.openConnections,
                    "checkpointSequence": s.checkpointSequence.map { $0 as Any } ?? NSNull(),
                    "createdAtMillis": s.createdAtMillis, "lastUsedAtMillis": s.lastUsedAtMillis,
                ] as [String: Any])
                return
            }
            print("session \(s.name)")
            print("  owner uid        \(s.ownerUID)")
            print("  model            \(d.layers) layers, \(d.queryHeads) query / \(d.kvHeads) KV heads, d=\(d.headDim), b=\(d.blockSize), \(d.elementType)")
            print("  blocks           \(blocks) (\(detail.sharedBlocks) shared with other sessions)")
            print("  stored bytes     \(s.storedBytes) (raw \(detail.rawBytes))")
            print("  checkpoint       \(s.checkpointSequence.map { "chunk \($0)" } ?? "none")")
            print("  created          \(formatMillis(s.createdAtMillis))")
            print("  last used        \(formatMillis(s.lastUsedAtMillis))")
            print("  open connections \(detail.openConnections)")
            for (layer, count) in s.blockCounts.enumerated() {
                print("  layer \(layer)\t\(count) blocks\t\(detail.layerStoredBytes[layer]) bytes")
            }
        }
    }
}

/// A time stamp (milliseconds since the Unix epoch) as ISO 8601 UTC.
func formatMillis(_ millis: UInt64) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
}

import ArgumentParser
import KVClient

/// `kvctl blocks NAME`: the number of blocks in each layer of one session.
struct BlocksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blocks", abstract: "Show a session's blocks per layer.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Session name.") var name: String

    func run() async throws {
        try await reportingErrors {
            let daemon = try await connection.connect()
            let info = try await daemon.openSession(name)
            try await daemon.closeSession(name)
            let d = info.descriptor
            print("\(info.name): owner \(info.ownerUID), \(d.layers) layers × \(d.queryHeads)/\(d.kvHeads) heads × d=\(d.headDim), b=\(d.blockSize), \(d.elementType)")
            for (layer, count) in info.blockCounts.enumerated() { print("layer \(layer)\t\(count) blocks") }
        }
    }
}

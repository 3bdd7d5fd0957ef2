import ArgumentParser
import Protocol

/// `kvctl blocks NAME`: the number of blocks in each layer of one session.
struct BlocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blocks", abstract: "Show a session's blocks per layer.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Session name.") var name: String

    func run() throws {
        try reportingErrors {
            let daemon = try connection.connect()
            guard case .sessionInfo(let info) = try daemon.call(.openSession(SessionRequest(name: name))) else {
                throw KvctlError("unexpected reply")
            }
            _ = try daemon.call(.closeSession(SessionRequest(name: name)))
            let d = info.descriptor
            print("\(info.name): owner \(info.ownerUID), \(d.layers) layers × \(d.queryHeads)/\(d.kvHeads) heads × d=\(d.headDim), b=\(d.blockSize), \(d.elementType)")
            for (layer, count) in info.blockCounts.enumerated() { print("layer \(layer)\t\(count) blocks") }
        }
    }
}

import KVClient
import KVStore

/// The kvd a command's block methods use: the one at `--socket`, else an embedded one on
/// `--data-dir` (default ``EmbeddedDaemon/defaultDirectory``). `run`, `eval` and `eval ruler`
/// open it the same way and close it when done.
struct KVDConnection {
    let client: KVClient
    /// The embedded daemon this process started (nil with `--socket`).
    let embedded: EmbeddedDaemon?

    /// Connects to `socket`, or starts an embedded kvd (retrieving `retrievalTokens` tokens per
    /// layer per chunk, as the worker's ``RetrievalOptions``) and connects to it. A failed connection stops the embedded kvd and throws ``Unreachable``.
    static func open(socket: String?, dataDir: String?, retrievalTokens: Int, budgetGrowth: Int, capacity: Int? = nil,
                     durability: Durability = .sync) async throws -> KVDConnection {
        var embedded: EmbeddedDaemon?
        let socketPath: String
        if let socket { socketPath = socket } else {
            let d = try await EmbeddedDaemon(directory: dataDir ?? EmbeddedDaemon.defaultDirectory, retrievalTokens: retrievalTokens, budgetGrowth: budgetGrowth,
                                     capacity: capacity, durability: durability)
            embedded = d
            socketPath = d.socketPath
        }
        do { return KVDConnection(client: try await KVClient.connect(socketPath: socketPath), embedded: embedded) } catch {
            await embedded?.stop()
            throw Unreachable(reason: "\(error)")
        }
    }

    /// Closes the client, then stops the embedded kvd.
    func close() async {
        client.close()
        await embedded?.stop()
    }

    /// The connection to kvd failed.
    struct Unreachable: Error, CustomStringConvertible {
        let reason: String
        var description: String { "cannot reach kvd: \(reason)" }
    }
}

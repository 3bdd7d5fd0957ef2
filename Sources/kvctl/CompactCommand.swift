import ArgumentParser
import KVStore

/// `kvctl compact --data DIR`: compacts the store of a *stopped* kvd (LMDB never returns free
/// pages to the file system; this rewrites `data.mdb` without them, atomically). Refuses while
/// a kvd serves the directory (the store's directory lock). Online alternative: `kvctl backup`
/// writes a compacted copy while serving.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Compact the data directory of a stopped kvd (rewrites data.mdb without free pages).")

    @Option(name: .long, help: "Data directory of the stopped kvd.")
    var data: String

    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let summary: CompactionSummary
        do {
            summary = try KVStore.compact(directory: data)
        } catch .locked {
            throw KvctlError("\(data) is in use by a running kvd: stop it first (or use `kvctl backup` for an online compacted copy)")
        } catch {
            throw KvctlError("compact \(data): \(error)")
        }
        if json {
            try printJSON(["directory": data, "bytesBefore": summary.bytesBefore, "bytesAfter": summary.bytesAfter] as [String: Any])
        } else {
            print("compacted \(data): \(summary.bytesBefore) -> \(summary.bytesAfter) bytes")
        }
    }
}

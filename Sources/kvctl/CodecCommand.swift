import ArgumentParser
import CoreTypes
import Foundation
import KVStore
import StoreBenchmarks

/// `kvctl codec --data DIR`: the payload codec (byte shuffle + zstd) on the blocks of a real
/// store — compression ratio and single-core encode/decode speed at each zstd level asked for —
/// so that a compression level is chosen on real model K/V, not on synthetic data. Opens the
/// store of a *stopped* kvd (it takes the directory lock, so it refuses while a kvd serves it);
/// reads every distinct block of every session (at most `--max-blocks`), changes nothing.
struct CodecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Compression ratio and codec speed per zstd level on the blocks of a stopped kvd's store.")

    @Option(name: .long, help: "Data directory of a stopped kvd.") var data: String
    @Option(name: .long, help: "zstd levels to measure (comma-separated, each 1…22).") var levels = "1,3"
    @Option(name: .long, help: "Distinct blocks read at most (in session, layer, position order).") var maxBlocks = 100_000
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        guard !parsedLevels.isEmpty, parsedLevels.allSatisfy({ (1...22).contains($0) }) else {
            throw ValidationError("--levels must list zstd levels 1…22")
        }
        guard maxBlocks >= 1 else { throw ValidationError("--max-blocks must be ≥ 1") }
    }

    private var parsedLevels: [Int32] { levels.split(separator: ",").compactMap { Int32($0) } }

    func run() async throws {
        let store = try openStoppedStore(data, remedy: "stop it first")
        var payloads: [[UInt8]] = []
        var stored = 0
        do {
            var seen = Set<BlockID>()
            var ids: [BlockID] = []
            for session in store.sessions() {
                for layer in 0..<session.descriptor.layers where ids.count < maxBlocks {
                    try store.withRepresentativeKeys(session: session.name, layer: layer) { keys in
                        for id in keys.ids where ids.count < maxBlocks && seen.insert(id).inserted { ids.append(id) }
                    }
                }
            }
            payloads = try store.payloads(ids)
            stored = try ids.compactMap { try store.blockInfo($0)?.storedBytes }.reduce(0, +)
        } catch {
            await store.close()
            FileHandle.standardError.write(Data("kvctl: reading the blocks failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
        await store.close()
        let raw = payloads.reduce(0) { $0 + $1.count }
        var rows: [[String: Any]] = []
        for level in parsedLevels {
            let result = try PayloadCodecBench.run(payloads: payloads, level: level)
            rows.append([
                "level": Int(level), "ratio": result.ratio, "unshuffledRatio": result.unshuffledRatio,
                "encodeMBps": result.encodeMBps, "decodeMBps": result.decodeMBps,
            ])
        }
        let report: [String: Any] = [
            "blocks": payloads.count, "rawBytes": raw, "storedBytes": stored,
            "storedRatio": Double(raw) / Double(max(1, stored)), "levels": rows,
        ]
        if json {
            try printJSON(report)
        } else {
            print("\(payloads.count) blocks, \(raw) raw bytes, stored ratio \(String(format: "%.3f", Double(raw) / Double(max(1, stored))))×")
            for row in rows {
                print(String(
                    format: "level %d: ratio %.3f× (zstd without shuffle %.3f×), encode %.0f MB/s, decode %.0f MB/s (one core)",
                    row["level"] as! Int, row["ratio"] as! Double, row["unshuffledRatio"] as! Double,
                    row["encodeMBps"] as! Double, row["decodeMBps"] as! Double))
            }
        }
    }
}

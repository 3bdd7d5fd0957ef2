import ArgumentParser
import CoreTypes
import Foundation
import KVStore
import RedisCluster

/// `kvctl bench-tier`: store and load throughput of the shared tier (docs/TIER.md) on a Redis
/// Cluster, through the code kvd uses — the uploader's batches (stored payloads, `SET` per block,
/// ≤ `--batch-bytes` per pipelined call, one call in flight, `WAIT --replicas`) and a pulling
/// node's fetches (`GET` per block, then the check of each payload against its published
/// lengths and CRC-32C and the decode). Model-like payloads (``BenchData``) in kvd's stored form.
/// Medians over `--runs`; the keys are deleted afterwards.
struct TierBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tier", abstract: "Benchmark the shared tier's store and load throughput on a Redis Cluster (see docs/BENCHMARKS.md).")

    @Option(name: .long, help: "The cluster: redis://HOST:PORT[,HOST:PORT…] (as kvd's --remote).") var remote: String
    @Option(name: .long, help: "With a rediss:// cluster: the authorities' PEM file (as kvd's --remote-tls-ca). Default: the system's store.") var tlsCa: String?
    @Option(name: .long, help: "With a rediss:// cluster: client certificate and key (as kvd's --remote-tls-cert/-key).") var tlsCert: String?
    @Option(name: .long) var tlsKey: String?
    @Option(name: .long, help: "Replicas each stored batch waits for (WAIT), as kvd's --remote-replicas.") var replicas = 1
    @Option(name: .long, help: "Shape: smollm2 (24 KiB blocks) or llama3-8b (128 KiB blocks).") var shape = "llama3-8b"
    @Option(name: .long, help: "Raw payload bytes written per run.") var bytes = 1 << 30
    @Option(name: .long, help: "Stored bytes per pipelined call (kvd's uploader: 8 MiB).") var batchBytes = 8 << 20
    @Option(name: .long, help: "Runs; medians are reported.") var runs = 3
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        guard remote.hasPrefix("redis://") else { throw ValidationError("--remote takes redis://HOST:PORT[,HOST:PORT…]") }
        let seeds = try RedisEndpoint.parseList(String(remote.dropFirst("redis://".count)))
        let descriptor: ModelDescriptor = switch shape {
        case "smollm2": ModelDescriptor(layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 0xB135)
        case "llama3-8b": ModelDescriptor(layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128, elementType: .fp16, blockSize: 32, fingerprint: 0x8B)
        default: throw ValidationError("unknown shape \(shape)")
        }
        let data = BenchData(descriptor: descriptor)
        let stored = data.payloads.map { PayloadCodec.encode($0, level: 1) }
        let infos = zip(data.payloads, stored).map { raw, s in
            BlockInfo(id: BlockID(high: 0, low: 0), layer: 0, codec: s[0], referenceCount: 0, rawBytes: raw.count, storedBytes: s.count,
                      checksum: s.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian },
                      prefixHash: PrefixHash(high: 0, low: 0))
        }
        let blocks = max(1, bytes / descriptor.payloadBytes)
        var configuration = RedisClusterConfiguration(seeds: seeds)
        if RedisEndpoint.usesTLS(remote) {
            configuration.tls = RedisTLSConfiguration(caFile: tlsCa, certificateFile: tlsCert, keyFile: tlsKey)
        }
        let redis = try RedisCluster(configuration: configuration)
        defer { redis.close() }
        let prefix = "kvctl-bench-tier:\(getpid())"
        // Batches of consecutive blocks, each ≤ batchBytes of stored payloads.
        var batches: [Range<Int>] = []
        var start = 0, size = 0
        for i in 0..<blocks {
            let n = stored[i % stored.count].count
            if size + n > batchBytes, i > start {
                batches.append(start..<i)
                start = i
                size = 0
            }
            size += n
        }
        batches.append(start..<blocks)
        let rawTotal = Double(blocks * descriptor.payloadBytes)
        let storedTotal = Double((0..<blocks).reduce(0) { $0 + stored[$1 % stored.count].count })

        var storeSeconds: [Double] = [], loadSeconds: [Double] = []
        for run in 0..<runs {
            let key = { (i: Int) in "\(prefix):\(run):\(i)" }
            var began = ContinuousClock.now
            for batch in batches {
                let commands = batch.map { RedisCommand("SET", [Array(key($0).utf8), stored[$0 % stored.count]]) }
                for result in await redis.pipeline(commands, replicas: replicas) { _ = try result.get() }
            }
            storeSeconds.append((ContinuousClock.now - began).seconds)
            began = ContinuousClock.now
            for batch in batches {
                let results = await redis.pipeline(batch.map { RedisCommand(["GET", key($0)]) })
                let fetched = try zip(batch, results).map { i, result in
                    guard let bytes = try result.get().bytes else { throw ValidationError("block \(i) missing from the cluster") }
                    return (stored: bytes, info: infos[i % infos.count])
                }
                // Checked and decoded over the cores, as kvd does (RemoteTier.payloads).
                if PayloadCodec.decode(matching: fetched).contains(where: { $0 == nil }) {
                    throw ValidationError("a payload read back does not match what was stored")
                }
            }
            loadSeconds.append((ContinuousClock.now - began).seconds)
            for batch in batches {
                for result in await redis.pipeline(batch.map { RedisCommand(["DEL", key($0)]) }) { _ = try result.get() }
            }
            if !json {
                print(String(format: "run %d: store %.2f s, load %.2f s", run + 1, storeSeconds.last!, loadSeconds.last!))
            }
        }
        let store = BenchMeasurements.median(storeSeconds), load = BenchMeasurements.median(loadSeconds)
        let report: [String: Any] = [
            "shape": shape, "blocks": blocks, "rawBytes": rawTotal, "storedBytes": storedTotal, "batches": batches.count,
            "replicas": replicas, "runs": runs, "storeSeconds": storeSeconds, "loadSeconds": loadSeconds,
            "storeRawGBps": rawTotal / store / 1e9, "storeStoredGBps": storedTotal / store / 1e9,
            "loadRawGBps": rawTotal / load / 1e9, "loadStoredGBps": storedTotal / load / 1e9,
        ]
        if json {
            try printJSON(report)
        } else {
            print(String(format: "%@: %d blocks, %.0f MB raw, %.0f MB stored (ratio %.2f), %d calls of ≤ %d MiB, WAIT %d",
                         shape, blocks, rawTotal / 1e6, storedTotal / 1e6, rawTotal / storedTotal, batches.count, batchBytes >> 20, replicas))
            print(String(format: "store: %.2f GB/s raw (%.2f GB/s stored); load: %.2f GB/s raw (%.2f GB/s stored) — medians of %d runs",
                         rawTotal / store / 1e9, storedTotal / store / 1e9, rawTotal / load / 1e9, storedTotal / load / 1e9, runs))
        }
    }
}

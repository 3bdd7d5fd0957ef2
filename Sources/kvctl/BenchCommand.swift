import ArgumentParser
import CoreTypes
import Foundation
import KVClient
import Protocol

/// `kvctl bench`: append throughput, retrieve latency and compression of a running kvd with
/// realistic model shapes, next to two ceilings measured in the same run: raw LMDB put/get of
/// the same bytes in-process, and the time to read a layer's representative keys once at the
/// measured memory bandwidth. Numbers are medians over `--runs` runs.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark a running kvd (see docs/BENCHMARKS.md).")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Option(name: .long, help: "Runs per shape; medians are reported.") var runs = 3
    @Option(name: .long, help: "Shapes: smollm2, llama3-8b (comma-separated).") var shapes = "smollm2,llama3-8b"
    @Option(name: .long, help: "Blocks per layer at which SmolLM2 retrieval is timed.") var smolSizes = "1024,4096,16384"
    @Option(name: .long, help: "Blocks per layer at which Llama-3-8B retrieval is timed (its blocks are 128 KiB).") var llamaSizes = "1024,4096"
    @Option(name: .long, help: "Timed retrieve requests per size and variant.") var retrieves = 200
    @Option(name: .long, help: "Blocks per append request.") var batch = 32
    @Option(name: .long, help: "Connections appending in parallel (one layer each) for the parallel append figure.") var appendConnections = 4
    @Option(name: .long, help: "Blocks each parallel appender writes.") var parallelBlocks = 512
    @Option(name: .long, help: "Append requests one connection keeps in flight for the pipelined append figure (it writes as many payload bytes as the raw LMDB ceiling, --raw-bytes, to one layer), as the worker's submitAppendBlocks does.") var pipeline = 4
    @Option(name: .long, help: "Bytes written for the raw LMDB ceiling.") var rawBytes = 256 << 20
    @Option(name: .long, help: "Scratch directory for the raw LMDB ceiling (same file system as kvd's data, ideally).") var scratch = "/tmp"

    func run() async throws {
        let bandwidth = BenchMeasurements.memoryReadBandwidth()
        var results: [[String: Any]] = []
        for shape in shapes.split(separator: ",").map(String.init) {
            let (descriptor, sizes): (ModelDescriptor, [Int]) = switch shape {
            case "smollm2": (ModelDescriptor(layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 0xB135), parse(smolSizes))
            case "llama3-8b": (ModelDescriptor(layers: 32, queryHeads: 32, kvHeads: 8, headDim: 128, elementType: .fp16, blockSize: 32, fingerprint: 0x8B), parse(llamaSizes))
            default: throw ValidationError("unknown shape \(shape)")
            }
            let data = BenchData(descriptor: descriptor)
            // The raw ceiling is measured after each run (the disk's speed drifts during a bench)
            // and reported as the median, like every other figure.
            var perRun: [ShapeRun] = []
            var rawRuns: [(putMBps: Double, getMBps: Double)] = []
            let rawDirectory = scratch + "/kvctl-bench-raw-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: rawDirectory) }
            for run in 0..<runs {
                perRun.append(try await measure(shape: shape, run: run, data: data, sizes: sizes, bandwidth: bandwidth))
                rawRuns.append(try RawLMDBCeiling.measure(
                    directory: rawDirectory, valueBytes: descriptor.payloadBytes,
                    count: max(64, rawBytes / descriptor.payloadBytes)))
            }
            let raw = (
                putMBps: BenchMeasurements.median(rawRuns.map(\.putMBps)), getMBps: BenchMeasurements.median(rawRuns.map(\.getMBps)))
            results.append(summary(shape: shape, descriptor: descriptor, runs: perRun, raw: raw, bandwidth: bandwidth))
        }
        let report: [String: Any] = [
            "memoryReadGBps": bandwidth / 1e9, "runs": runs, "retrievesPerPoint": retrieves, "batch": batch, "shapes": results,
        ]
        if json {
            try printJSON(report)
        } else {
            printTable(report)
        }
    }

    private func parse(_ list: String) -> [Int] { list.split(separator: ",").compactMap { Int($0) }.sorted() }

    /// One run's numbers for one shape.
    struct ShapeRun {
        var appendMBps: Double
        var pipelinedAppendMBps: Double
        var parallelAppendMBps: Double
        var compressionRatio: Double
        var tinyP50: Double
        var tinyP99: Double
        var retrieve: [Int: (bare: [Double], payload: [Double])]
    }

    private func measure(shape: String, run: Int, data: BenchData, sizes: [Int], bandwidth: Double) async throws -> ShapeRun {
        let daemon = try await connection.connect()
        defer { daemon.close() }
        let descriptor = data.descriptor
        let name = "bench-\(shape)-\(getpid())-\(run)"
        _ = try await daemon.createSession(name, descriptor: descriptor)
        let payloadBytes = Double(descriptor.payloadBytes)

        // Layer 0 grows to each size; appends are timed, retrieval is timed at every size.
        var appendSeconds = 0.0
        var appended = 0
        var retrieve: [Int: (bare: [Double], payload: [Double])] = [:]
        var random = SplitMix64(seed: UInt64(run) + 7)
        for size in sizes {
            while appended < size {
                let count = min(batch, size - appended)
                let blocks = (appended..<appended + count).map { data.block(layer: 0, position: $0) }
                let start = BenchMeasurements.now()
                _ = try await daemon.appendBlocks(session: name, blocks: blocks)
                appendSeconds += BenchMeasurements.now() - start
                appended += count
            }
            var bare: [Double] = [], payload: [Double] = []
            for i in 0..<(2 * retrieves) {
                let probe = data.keys[Int(random.next() % UInt64(data.keys.count))]
                let want = i % 2 == 1
                let request = RetrieveRequest(
                    session: name, layer: 0, method: .infllm, mode: .decode, chunkSequence: UInt64(i), probe: probe, wantPayloads: want)
                let start = BenchMeasurements.now()
                _ = try await daemon.retrieve(request)
                let seconds = BenchMeasurements.now() - start
                if want { payload.append(seconds) } else { bare.append(seconds) }
            }
            retrieve[size] = (bare, payload)
        }
        let info = try await daemon.openSession(name)
        let ratio = Double(appended) * payloadBytes / Double(max(1, info.storedBytes))

        // A tiny request's round trip (openSession of a session this connection already holds).
        var tiny: [Double] = []
        for _ in 0..<max(200, retrieves) {
            let start = BenchMeasurements.now()
            _ = try await daemon.openSession(name)
            tiny.append(BenchMeasurements.now() - start)
        }

        // One connection keeping `pipeline` appends in flight (submitted without waiting; the
        // oldest reply is awaited when the window is full), to the last layer; as many bytes
        // as the raw LMDB ceiling writes.
        let pipelineLayer = descriptor.layers - 1
        let pipelineTotal = max(64, rawBytes / descriptor.payloadBytes)
        var inFlight: [PendingReply<[BlockID]>] = []
        let pipelineStart = BenchMeasurements.now()
        var pipelined = 0
        while pipelined < pipelineTotal {
            let count = min(batch, pipelineTotal - pipelined)
            let blocks = (pipelined..<pipelined + count).map { data.block(layer: pipelineLayer, position: $0) }
            inFlight.append(daemon.submitAppendBlocks(session: name, blocks: blocks))
            pipelined += count
            if inFlight.count >= max(1, pipeline) { _ = try await inFlight.removeFirst().value() }
        }
        for pending in inFlight { _ = try await pending.value() }
        let pipelineSeconds = BenchMeasurements.now() - pipelineStart

        // Parallel appenders, one connection and one layer each, so the daemon can group their
        // commits.
        let layers = min(appendConnections, descriptor.layers - 1)
        let writers = try await withThrowingTaskGroup(of: KVClient.self) { group in
            for _ in 0..<layers { group.addTask { try await connection.connect() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let perConnection = parallelBlocks
        let batchSize = batch
        let parallelStart = BenchMeasurements.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, writer) in writers.enumerated() {
                group.addTask {
                    var position = 0
                    while position < perConnection {
                        let count = min(batchSize, perConnection - position)
                        let blocks = (position..<position + count).map { data.block(layer: i + 1, position: $0) }
                        _ = try await writer.appendBlocks(session: name, blocks: blocks)
                        position += count
                    }
                }
            }
            try await group.waitForAll()
        }
        let parallelSeconds = BenchMeasurements.now() - parallelStart
        for writer in writers { writer.close() }
        try await daemon.dropSession(name)

        return ShapeRun(
            appendMBps: Double(appended) * payloadBytes / appendSeconds / 1e6,
            pipelinedAppendMBps: Double(pipelineTotal) * payloadBytes / pipelineSeconds / 1e6,
            parallelAppendMBps: Double(layers * perConnection) * payloadBytes / parallelSeconds / 1e6,
            compressionRatio: ratio,
            tinyP50: BenchMeasurements.quantile(tiny, 0.5), tinyP99: BenchMeasurements.quantile(tiny, 0.99),
            retrieve: retrieve)
    }

    private func summary(shape: String, descriptor: ModelDescriptor, runs: [ShapeRun], raw: (putMBps: Double, getMBps: Double), bandwidth: Double) -> [String: Any] {
        let median = BenchMeasurements.median
        let append = median(runs.map(\.appendMBps))
        let parallel = median(runs.map(\.parallelAppendMBps))
        let pipelined = median(runs.map(\.pipelinedAppendMBps))
        let tiny = median(runs.map(\.tinyP50)) * 1e6
        var points: [[String: Any]] = []
        var retrieveGoalMet = true
        for size in runs[0].retrieve.keys.sorted() {
            let floor = Double(size * descriptor.vectorDimension * 4) / bandwidth * 1e6
            let bareP50 = median(runs.map { BenchMeasurements.quantile($0.retrieve[size]!.bare, 0.5) }) * 1e6
            let bareP99 = median(runs.map { BenchMeasurements.quantile($0.retrieve[size]!.bare, 0.99) }) * 1e6
            let payP50 = median(runs.map { BenchMeasurements.quantile($0.retrieve[size]!.payload, 0.5) }) * 1e6
            let payP99 = median(runs.map { BenchMeasurements.quantile($0.retrieve[size]!.payload, 0.99) }) * 1e6
            let goal = 2 * floor + 30
            retrieveGoalMet = retrieveGoalMet && bareP50 <= goal
            points.append([
                "blocks": size, "readFloorUs": floor, "goalP50Us": goal,
                "p50Us": bareP50, "p99Us": bareP99, "withPayloadP50Us": payP50, "withPayloadP99Us": payP99,
                "goalMet": bareP50 <= goal,
            ])
        }
        return [
            "shape": shape, "payloadBytes": descriptor.payloadBytes, "keyFloats": descriptor.vectorDimension,
            "appendMBps": append, "pipelinedAppendMBps": pipelined, "pipeline": pipeline, "parallelAppendMBps": parallel,
            "appendConnections": appendConnections, "rawLMDBPutMBps": raw.putMBps, "rawLMDBGetMBps": raw.getMBps,
            "appendRatio": append / raw.putMBps, "pipelinedAppendRatio": pipelined / raw.putMBps, "parallelAppendRatio": parallel / raw.putMBps,
            "appendGoalMet": max(append, pipelined, parallel) >= 0.5 * raw.putMBps,
            "compressionRatio": median(runs.map(\.compressionRatio)),
            "tinyRoundTripP50Us": tiny, "tinyRoundTripP99Us": median(runs.map(\.tinyP99)) * 1e6, "tinyGoalMet": tiny < 50,
            "retrieve": points, "retrieveGoalMet": retrieveGoalMet,
        ]
    }

    private func printTable(_ report: [String: Any]) {
        func f(_ value: Any?) -> String { String(format: "%.1f", (value as? Double) ?? .nan) }
        print("memory read bandwidth \(f(report["memoryReadGBps"])) GB/s; medians of \(runs) runs")
        for shape in report["shapes"] as? [[String: Any]] ?? [] {
            print("\(shape["shape"]!): append \(f(shape["appendMBps"])) MB/s (1 conn), \(f(shape["pipelinedAppendMBps"])) MB/s (1 conn, \(pipeline) in flight), \(f(shape["parallelAppendMBps"])) MB/s (\(appendConnections) conns); raw LMDB put \(f(shape["rawLMDBPutMBps"])) get \(f(shape["rawLMDBGetMBps"])) MB/s; compression \(String(format: "%.3f", shape["compressionRatio"] as? Double ?? .nan))×; tiny RTT p50 \(f(shape["tinyRoundTripP50Us"])) µs")
            for point in shape["retrieve"] as? [[String: Any]] ?? [] {
                print("  N=\(point["blocks"]!): p50 \(f(point["p50Us"])) p99 \(f(point["p99Us"])) µs; with payload p50 \(f(point["withPayloadP50Us"])) p99 \(f(point["withPayloadP99Us"])) µs; floor \(f(point["readFloorUs"])) µs, goal ≤ \(f(point["goalP50Us"])) µs")
            }
        }
    }
}


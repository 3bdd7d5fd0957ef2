import ArgumentParser
import CoreTypes
import Foundation
import KVClient
import Protocol

/// `kvstress soak`: many clients for a long time against a running kvd, with the daemon's memory
/// sampled throughout.
///
/// Each of `--clients` clients has its own connection and its own sessions, and repeats a
/// session's life until `--duration` seconds have passed: create, then per chunk append one
/// block per layer and retrieve every layer (methods, modes, question terms, held ids and
/// payload requests vary), fetch blocks and store and read checkpoints now and then, sometimes
/// fork and drop the fork, and finally drop the session (so the store stays small: at most
/// `--max-chunks` blocks per layer per client are alive). Everything read back is compared with
/// what was written. kvd's RSS is sampled every `--sample-interval` seconds; the summary gives
/// the first and last minute's medians and the maximum. Exits 1 if any request failed or any
/// data read back differed.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak", abstract: "Run many clients of mixed requests against a running kvd and sample its memory.")

    @Option(name: .long, help: "Socket of the running kvd.") var socket: String = "/run/kvd/kvd.sock"
    @Option(name: .long, help: "Pid of the kvd (default: the process listening on --socket, from SO_PEERCRED).") var pid: Int32?
    @Option(name: .long, help: "Concurrent clients, one connection each.") var clients: Int = 64
    @Option(name: .long, help: "Seconds to run.") var duration: Double = 600
    @Option(name: .long, help: "Seconds between samples of kvd's RSS.") var sampleInterval: Double = 5
    @Option(name: .long, help: "Most chunks (blocks per layer) of one session before it is dropped.") var maxChunks: Int = 32
    @Option(name: .long, help: "Seed of the random choices (default: from the clock).") var seed: UInt64?

    func validate() throws {
        guard clients >= 1, duration > 0, sampleInterval > 0, maxChunks >= 2 else {
            throw ValidationError("--clients ≥ 1, --duration > 0, --sample-interval > 0 and --max-chunks ≥ 2 are required")
        }
    }

    func run() async throws {
        let probe = try DaemonProbe.locate(socketPath: socket, pid: pid)
        let seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        print("kvstress soak: socket \(socket), kvd pid \(probe.pid), seed \(seed), \(clients) clients, \(duration) s, RSS every \(sampleInterval) s")
        let data = SoakData(seed: seed)
        let start = monotonicSeconds()
        let deadline = start + duration
        var samples = [(seconds: 0.0, kib: try probe.residentKiB())]
        let (socket, maxChunks, sampleInterval) = (socket, maxChunks, sampleInterval)

        let (tallies, lateSamples) = try await withThrowingTaskGroup(of: SoakOutcome.self) { group in
            for index in 0..<clients {
                group.addTask {
                    var client = SoakClient(index: index, seed: seed &+ UInt64(index) &* 0x9E37_79B9, data: data, maxChunks: maxChunks, socket: socket)
                    return .client(await client.run(until: deadline))
                }
            }
            group.addTask {
                var series: [(Double, Int)] = []
                var next = start + sampleInterval
                while next <= deadline {
                    try await Task.sleep(for: .seconds(max(0, next - monotonicSeconds())))
                    guard let kib = try? probe.residentKiB() else { break }
                    series.append((monotonicSeconds() - start, kib))
                    next += sampleInterval
                }
                return .samples(series)
            }
            var tallies: [SoakTally] = []
            var series: [(Double, Int)] = []
            for try await outcome in group {
                switch outcome {
                case .client(let tally): tallies.append(tally)
                case .samples(let s): series = s
                }
            }
            return (tallies, series)
        }
        let elapsed = monotonicSeconds() - start
        samples += lateSamples.map { (seconds: $0.0, kib: $0.1) }
        let total = tallies.reduce(into: SoakTally()) { $0.merge($1) }
        let alive = probe.isAlive
        let peak = alive ? (try? probe.peakResidentKiB()) : nil
        let parts = alive ? (try? probe.residentParts()) : nil

        total.print(elapsed: elapsed, clients: clients)
        Self.printMemory(samples, duration: duration, interval: sampleInterval, peak: peak)
        if let parts { print("  at the end: anonymous \(mib(parts.anonymous)), file-backed (LMDB map) \(mib(parts.file))") }
        print("kvd alive after the run: \(alive ? "yes" : "NO")")
        if total.errors == 0 && total.mismatches == 0 && alive {
            print("result: PASS (no request failed, every read-back matched)")
        } else {
            print("result: FAIL: \(total.errors) failed requests, \(total.mismatches) read-back mismatches\(alive ? "" : ", kvd not running")")
            for failure in total.failures.prefix(10) { print("  \(failure)") }
            throw ExitCode(1)
        }
    }

    /// Prints the RSS series summary: the median of the first and of the last minute (a third of
    /// the run each when it is shorter than three minutes; the sample taken before the clients
    /// started is not in the first), the extremes, and per-minute medians.
    static func printMemory(_ samples: [(seconds: Double, kib: Int)], duration: Double, interval: Double, peak: Int?) {
        let window = min(60, duration / 3)
        let first = samples.filter { $0.seconds > 0 && $0.seconds <= window }.map(\.kib)
        let last = samples.filter { $0.seconds >= duration - window }.map(\.kib)
        let all = samples.map(\.kib)
        let firstMedian = median(first), lastMedian = median(last)
        let change = firstMedian > 0 ? 100 * Double(lastMedian - firstMedian) / Double(firstMedian) : 0
        print("kvd RSS: \(samples.count) samples every \(interval) s; start \(mib(all.first ?? 0)); median of the first \(Int(window)) s \(mib(firstMedian)), of the last \(Int(window)) s \(mib(lastMedian)) (\(String(format: "%+.1f", change)) %); min \(mib(all.min() ?? 0)), max \(mib(all.max() ?? 0)); kernel peak (VmHWM) \(peak.map(mib) ?? "-")")
        var minutes: [String] = []
        var minute = 0
        while Double(minute) * 60 < duration {
            let values = samples.filter { $0.seconds > Double(minute) * 60 && $0.seconds <= Double(minute + 1) * 60 }.map(\.kib)
            if !values.isEmpty { minutes.append(mib(median(values))) }
            minute += 1
        }
        if minutes.count > 1 { print("  per-minute medians: \(minutes.joined(separator: ", "))") }
    }
}

/// What a task of the soak's group returns.
enum SoakOutcome: Sendable {
    case client(SoakTally)
    case samples([(Double, Int)])
}

/// Counts of one client (or of all, merged).
struct SoakTally: Sendable {
    var requests: [String: Int] = [:]
    var errors = 0
    var mismatches = 0
    var failures: [String] = []
    var connections = 0
    var sessionsCreated = 0
    var sessionsDropped = 0
    var blocksAppended = 0
    var payloadBytesAppended = 0
    var payloadsCompared = 0
    var blocksCompared = 0
    var checkpointsCompared = 0

    mutating func count(_ request: String) { requests[request, default: 0] += 1 }

    mutating func fail(_ description: String) {
        if failures.count < 20 { failures.append(description) }
    }

    mutating func merge(_ other: SoakTally) {
        requests.merge(other.requests, uniquingKeysWith: +)
        errors += other.errors
        mismatches += other.mismatches
        failures += other.failures.prefix(max(0, 20 - failures.count))
        connections += other.connections
        sessionsCreated += other.sessionsCreated
        sessionsDropped += other.sessionsDropped
        blocksAppended += other.blocksAppended
        payloadBytesAppended += other.payloadBytesAppended
        payloadsCompared += other.payloadsCompared
        blocksCompared += other.blocksCompared
        checkpointsCompared += other.checkpointsCompared
    }

    func print(elapsed: Double, clients: Int) {
        let total = requests.values.reduce(0, +)
        let list = requests.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Swift.print("requests \(total) in \(String(format: "%.1f", elapsed)) s by \(clients) clients on \(connections) connections (\(Int(Double(total) / max(elapsed, 1e-9))) /s): \(list)")
        Swift.print("failed requests \(errors); sessions (forks included) created \(sessionsCreated), dropped \(sessionsDropped); blocks appended \(blocksAppended) (\(payloadBytesAppended / (1 << 20)) MiB of payload)")
        Swift.print("read-back checks: \(payloadsCompared) retrieved payloads, \(blocksCompared) fetched blocks, \(checkpointsCompared) checkpoints compared; mismatches \(mismatches)")
    }
}

/// Blocks that look like a model's K/V (fp16 values drifting from token to token around
/// per-channel means, a few outlier channels), shared read-only by every client, and
/// representative keys; small (4 KiB payloads) so a long soak does not fill the disk.
struct SoakData: Sendable {
    /// 4 layers, 4 query heads, 2 KV heads, head dimension 32, 16-token blocks: D = 128,
    /// payloads of 2 · 2 · 16 · 32 · 2 = 4096 bytes.
    static let descriptor = ModelDescriptor(
        layers: 4, queryHeads: 4, kvHeads: 2, headDim: 32, elementType: .fp16, blockSize: 16, fingerprint: 0x50A4_50A4)
    let payloads: [[UInt8]]
    let keys: [[Float]]

    init(seed: UInt64, poolSize: Int = 32) {
        var random = SplitMix64(seed: seed)
        let d = Self.descriptor
        let channels = d.kvHeads * d.headDim
        let scale = (0..<channels).map { _ in expf(random.gaussian() * 0.8) * 0.5 * (random.chance(3) ? 12 : 1) }
        let mean = scale.map { $0 * random.gaussian() * 0.5 }
        payloads = (0..<poolSize).map { _ in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(d.payloadBytes)
            for _ in 0..<2 {  // K, then V
                for h in 0..<d.kvHeads {
                    var state = (0..<d.headDim).map { _ in random.gaussian() }
                    for _ in 0..<d.blockSize {
                        for c in 0..<d.headDim {
                            state[c] = 0.9 * state[c] + 0.436 * random.gaussian()
                            let i = h * d.headDim + c
                            let bits = Float16(mean[i] + scale[i] * state[c]).bitPattern
                            bytes.append(UInt8(truncatingIfNeeded: bits))
                            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
                        }
                    }
                }
            }
            return bytes
        }
        keys = (0..<256).map { _ in (0..<d.vectorDimension).map { _ in random.gaussian() } }
    }
}

/// One soak client: its connection, its sessions, its counts.
struct SoakClient {
    let index: Int
    var random: SplitMix64
    let data: SoakData
    let maxChunks: Int
    let socket: String
    var tally = SoakTally()
    /// Makes prefix hashes (hence block ids) unique to this run, client and session.
    let nonce: UInt64

    init(index: Int, seed: UInt64, data: SoakData, maxChunks: Int, socket: String) {
        self.index = index
        self.random = SplitMix64(seed: seed)
        self.data = data
        self.maxChunks = maxChunks
        self.socket = socket
        nonce = seed
    }

    /// Runs sessions until `deadline` (monotonic seconds); returns the counts.
    mutating func run(until deadline: Double) async -> SoakTally {
        var client: KVClient?
        var generation = 0
        while monotonicSeconds() < deadline {
            do {
                if client == nil || client?.isConnected == false {
                    tally.connections += 1
                    // No busy-polling for replies: 64 clients spinning would take the cores kvd needs.
                    client = try await KVClient.connect(socketPath: socket, configuration: KVClientConfiguration(inlineReadMicroseconds: 0))
                }
                try await session(generation, on: client!, until: deadline)
            } catch {
                tally.errors += 1
                tally.fail("client \(index) session \(generation): \(error)")
                if tally.errors > 100 { break }
            }
            generation += 1
        }
        client?.close()
        return tally
    }

    /// Counts a request and runs it.
    private mutating func call<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        tally.count(name)
        return try await body()
    }

    private mutating func check(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition {
            tally.mismatches += 1
            tally.fail("client \(index): \(what())")
        }
    }

    /// One session's life: create, chunks of appends and retrieves (with fetches, checkpoints and
    /// a fork now and then), drop.
    private mutating func session(_ generation: Int, on client: KVClient, until deadline: Double) async throws {
        let d = SoakData.descriptor
        let layers = d.layers
        let name = "kvstress-soak-\(getpid())-c\(index)-\(generation)"
        _ = try await call("createSession") { try await client.createSession(name, descriptor: d) }
        tally.sessionsCreated += 1
        var blocks: [[BlockRecord]] = Array(repeating: [], count: layers)
        var ids: [[BlockID]] = Array(repeating: [], count: layers)
        var byID: [BlockID: BlockRecord] = [:]
        var checkpoint: (sequence: UInt64, state: [UInt8])?
        let chunks = random.int(2...maxChunks)
        for chunk in 0..<chunks where monotonicSeconds() < deadline {
            // One block per layer, in one append.
            let appended = (0..<layers).map { layer in
                BlockRecord(
                    layer: UInt16(layer), position: UInt32(chunk),
                    prefixHash: PrefixHash(high: nonce &+ UInt64(generation) &* 0x1_0000, low: UInt64(chunk)),
                    representativeKey: data.keys[random.below(data.keys.count)],
                    payload: data.payloads[random.below(data.payloads.count)][...])
            }
            let newIDs = try await call("appendBlocks") { try await client.appendBlocks(session: name, blocks: appended) }
            check(newIDs.count == layers, "\(newIDs.count) ids for \(layers) blocks")
            for (layer, id) in newIDs.enumerated() where layer < layers {
                blocks[layer].append(appended[layer])
                ids[layer].append(id)
                byID[id] = appended[layer]
            }
            tally.blocksAppended += layers
            tally.payloadBytesAppended += layers * d.payloadBytes

            // Retrieve every layer for the next chunk.
            let method = random.pick(RetrievalMethod.allCases)
            let mode: RetrievalMode = random.chance(70) ? .decode : .prefill
            let wantPayloads = random.chance(50)
            for layer in 0..<layers {
                let held = ids[layer].filter { _ in random.chance(30) }
                let probe = data.keys[random.below(data.keys.count)]
                let question = mode == .prefill && random.chance(50)
                    ? QuestionTerm(vector: data.keys[random.below(data.keys.count)], weight: 4) : nil
                let request = RetrieveRequest(
                    session: name, layer: UInt16(layer), method: method, mode: mode, chunkSequence: UInt64(chunk),
                    probe: probe, question: question, heldIDs: held, wantPayloads: wantPayloads)
                let result = try await call("retrieve") { try await client.retrieve(request) }
                check(result.totalBlocks == UInt32(ids[layer].count), "retrieve saw \(result.totalBlocks) blocks, \(ids[layer].count) appended")
                for chosen in result.chosen {
                    check(Int(chosen.position) < ids[layer].count && ids[layer][Int(chosen.position)] == chosen.id,
                          "retrieve chose \(chosen.id) at \(chosen.position), not a block of layer \(layer)")
                }
                for payload in result.payloads {
                    let chosen = result.chosen[Int(payload.index)]
                    check(!held.contains(chosen.id), "retrieve sent the payload of a held block")
                    check(byID[chosen.id]?.payload == payload.payload, "retrieved payload of \(chosen.id) differs from the appended one")
                    tally.payloadsCompared += 1
                }
            }

            if chunk % 4 == 3 {
                let layer = random.below(layers)
                let wanted = ids[layer].filter { _ in random.chance(40) }.prefix(8)
                let fetched = try await call("fetchBlocks") { try await client.fetchBlocks(session: name, ids: Array(wanted)) }
                check(fetched.map(\.id) == Array(wanted), "fetch returned other ids")
                for block in fetched {
                    let original = byID[block.id]
                    check(original?.payload == block.record.payload && original?.representativeKey == block.record.representativeKey
                          && original?.position == block.record.position && original?.layer == block.record.layer,
                          "fetched block \(block.id) differs from the appended one")
                    tally.blocksCompared += 1
                }
            }
            if chunk % 5 == 4 {
                let state = random.bytes(random.int(64...512))
                try await call("putCheckpoint") {
                    try await client.putCheckpoint(session: name, chunkSequence: UInt64(chunk + 1), tokenCount: UInt64((chunk + 1) * d.blockSize), workerState: state[...])
                }
                checkpoint = (UInt64(chunk + 1), state)
            }
            if let expected = checkpoint, random.chance(20) {
                let restore = random.chance(50)
                let read = try await call("getCheckpoint") { try await client.getCheckpoint(session: name, restore: restore) }
                check(read.chunkSequence == expected.sequence && read.workerState.elementsEqual(expected.state), "checkpoint read back differs")
                tally.checkpointsCompared += 1
            }
        }
        if random.chance(20) && !ids[0].isEmpty {
            let fork = name + "-fork"
            let shared = random.int(1...ids[0].count)
            let info = try await call("forkSession") { try await client.forkSession(from: name, to: fork, blockCount: UInt32(shared)) }
            tally.sessionsCreated += 1
            check(info.blockCounts.allSatisfy { $0 == UInt32(shared) }, "fork has block counts \(info.blockCounts), expected \(shared)")
            let request = RetrieveRequest(
                session: fork, layer: 0, method: .dense, mode: .decode, chunkSequence: 0, probe: data.keys[0], wantPayloads: false)
            let result = try await call("retrieve") { try await client.retrieve(request) }
            check(result.chosen.map(\.id) == Array(ids[0].prefix(shared)), "the fork's dense retrieve chose other blocks")
            try await call("dropSession") { try await client.dropSession(fork) }
            tally.sessionsDropped += 1
        }
        try await call("dropSession") { try await client.dropSession(name) }
        tally.sessionsDropped += 1
    }
}

import ArgumentParser
import CoreTypes
import Foundation
import KVClient
import Protocol
#if canImport(Glibc)
import Glibc
#endif

/// `kvstress crash`: kill -9 of a real kvd during pipelined appends, restart, verify — N times.
///
/// Each cycle starts kvd on the same data directory, checks the previous cycle's session (every
/// block whose append was acknowledged is stored, every stored block is byte-identical to what
/// was sent, the older sessions kept their counts, the daemon's own `verify` is clean), creates
/// a new session and appends to it from one connection keeping `--pipeline` appends of
/// `--blocks-per-append` blocks in flight (layers in turn), and SIGKILLs kvd at a random moment
/// 0…`--max-kill-delay-ms` after the first append was acknowledged. After the last cycle kvd is started
/// once more, every block of every session is compared, and kvd is stopped with SIGTERM.
///
/// With `--power-loss-library` (the compiled `Tests/PowerLoss/powerloss.c`) kvd runs with the
/// interposer and each kill is followed by a simulated power loss: the data files are replaced
/// by their durable images, so writes kvd did not flush are gone (docs/STORAGE.md "Durability").
///
/// Prints one line per run (`crash cycles: …`), exits 1 when a block was lost or differs or a
/// verify failed.
struct CrashCyclesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash",
        abstract: "kill -9 kvd during pipelined appends, restart, verify; repeat.")

    @Option(name: .long, help: "The kvd executable (default: kvd next to kvstress).")
    var kvd: String?

    @Option(name: .long, help: "Crash cycles.")
    var cycles = 100

    @Option(name: .long, help: "kvd durability mode: sync, periodic or none.")
    var durability = "sync"

    @Option(name: .long, help: "Appends of one connection in flight at once (kvd runs with --append-pipeline of the same value).")
    var pipeline = 4

    @Option(name: .long, help: "Blocks per append (4 KiB payload each).")
    var blocksPerAppend = 8

    @Option(name: .long, help: "The kill comes at a uniformly random moment this many milliseconds at most after the cycle's first acknowledged append.")
    var maxKillDelayMs = 400

    @Option(name: .long, help: "Seed of the kill moments and of the block contents.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Work directory (socket, data, log); default: a new directory under /tmp, removed after a clean run.")
    var workDirectory: String?

    @Option(name: .long, help: "Compiled power-loss interposer (Tests/PowerLoss/powerloss.c): simulate a power loss after each kill.")
    var powerLossLibrary: String?

    @Flag(name: .long, help: "Print one line per cycle.")
    var verbose = false

    func validate() throws {
        guard cycles >= 1 else { throw ValidationError("--cycles must be at least 1") }
        guard ["sync", "periodic", "none"].contains(durability) else { throw ValidationError("--durability must be sync, periodic or none") }
        guard (1...64).contains(pipeline) else { throw ValidationError("--pipeline must be 1…64") }
        guard (1...256).contains(blocksPerAppend) else { throw ValidationError("--blocks-per-append must be 1…256") }
        guard maxKillDelayMs >= 1 else { throw ValidationError("--max-kill-delay-ms must be at least 1") }
    }

    /// The figures of a run.
    struct Figures {
        /// Cycles whose kill happened.
        var cyclesDone = 0
        /// Blocks whose append was acknowledged, all cycles.
        var acknowledged = 0
        /// Blocks stored after the restarts (acknowledged or committed without a reply).
        var stored = 0
        /// Acknowledged blocks missing after a restart.
        var lost = 0
        /// Stored blocks whose payload or position differs from what was appended.
        var differing = 0
        /// Failures reported by the daemon's `verify`.
        var verifyFailures = 0
        /// Blocks the daemon's `verify` checked in the end.
        var verifiedBlocks = 0

        var clean: Bool { lost == 0 && differing == 0 && verifyFailures == 0 }
    }

    func run() async throws {
        let binary = kvd ?? URL(fileURLWithPath: CommandLine.executablePathOfSelf).deletingLastPathComponent().appendingPathComponent("kvd").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw ValidationError("no kvd executable at \(binary)") }
        let work = workDirectory ?? "/tmp/kvstress-crash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let data = work + "/data"
        var environment: [String: String] = [:]
        var powerLoss: CrashPowerLoss?
        if let library = powerLossLibrary {
            let loss = CrashPowerLoss(library: library, imagesPath: work + "/durable-images", dataPath: data)
            environment = loss.environment
            powerLoss = loss
        }
        let daemon = CrashDaemon(
            binary: binary, socketPath: work + "/kvd.sock", dataPath: data,
            arguments: ["--durability", durability, "--append-pipeline", String(pipeline), "--admin-uid", String(getuid())],
            environment: environment, logPath: work + "/kvd.log")

        let started = Date()
        var figures = Figures()
        var failure: CrashCycleError?
        do {
            try await drive(daemon, powerLoss: powerLoss, figures: &figures)
        } catch let error as CrashCycleError {
            // kvd that does not come back after a crash is a finding too: report it with the figures so far.
            failure = error
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(
            format: "crash cycles: %d, durability %@%@, blocks acknowledged %d, stored %d, lost %d, differing %d, verify failures %d (%d blocks verified at the end), %.1f s",
            figures.cyclesDone, durability, powerLoss == nil ? "" : " + power loss", figures.acknowledged, figures.stored, figures.lost,
            figures.differing, figures.verifyFailures, figures.verifiedBlocks, seconds))
        if let failure { print("stopped: \(failure)") }
        if figures.clean && failure == nil {
            if workDirectory == nil { try? FileManager.default.removeItem(atPath: work) }
        } else {
            print("kept \(work) (kvd log: \(work)/kvd.log)")
            throw ExitCode(1)
        }
    }

    private func drive(_ daemon: CrashDaemon, powerLoss: CrashPowerLoss?, figures: inout Figures) async throws {
        let blocks = CrashBlocks(seed: seed)
        var random = SplitMix64(seed: seed ^ 0xD1CE)
        /// Per cycle: the blocks acknowledged per layer, and the counts found after the restart.
        var acknowledged: [[Int]] = []
        var checkedCounts: [[Int]?] = []

        for cycle in 0...cycles {
            let client = try await daemon.start()
            if cycle > 0 {
                // The cycle before: everything acknowledged is there and identical.
                let counts = try await check(cycle: cycle - 1, acknowledged: acknowledged[cycle - 1], client: client, blocks: blocks, figures: &figures)
                checkedCounts.append(counts)
                // Older sessions keep the counts they had.
                try await checkOlder(checkedCounts.dropLast(), client: client, figures: &figures)
                let report = try await call("verify") { () async throws(KVClientError) in try await client.verify(maxFailures: 16) }
                figures.verifyFailures += Int(report.failureTotal)
                for failure in report.failures { print("cycle \(cycle): verify: \(failure.reason): \(failure.message)") }
            }
            if cycle == cycles {
                // The end: every block of every session, once more, then a clean stop.
                figures.stored = 0
                for earlier in 0..<cycles {
                    figures.stored += try await compare(cycle: earlier, client: client, blocks: blocks, figures: &figures)
                }
                let report = try await call("verify") { () async throws(KVClientError) in try await client.verify(maxFailures: 16) }
                figures.verifyFailures += Int(report.failureTotal)
                figures.verifiedBlocks = Int(report.blocksChecked)
                client.close()
                let status = daemon.stop(signal: SIGTERM)
                if status != 0 { throw CrashCycleError.daemonFailed("kvd exited with status \(status) after SIGTERM; log: \(daemon.logPath)") }
                break
            }

            let session = CrashBlocks.session(cycle)
            _ = try await call("createSession \(session)") { () async throws(KVClientError) in
                try await client.createSession(session, descriptor: CrashBlocks.shape)
            }
            let (pipeline, blocksPerAppend) = (pipeline, blocksPerAppend)
            let (firstAcknowledgement, acknowledging) = AsyncStream<Void>.makeStream()
            let appender = Task {
                defer { acknowledging.finish() }
                return await Self.append(
                    cycle: cycle, client: client, blocks: blocks, pipeline: pipeline, blocksPerAppend: blocksPerAppend,
                    onFirstAcknowledgement: { acknowledging.finish() })
            }
            // The kill comes at a random moment after the first append was acknowledged.
            for await _ in firstAcknowledgement {}
            let delay = random.next() % UInt64(maxKillDelayMs * 1000)
            try await Task.sleep(nanoseconds: delay * 1000)
            daemon.stop(signal: SIGKILL)
            let acked = await appender.value
            client.close()
            acknowledged.append(acked)
            figures.acknowledged += acked.reduce(0, +)
            figures.cyclesDone += 1
            try powerLoss?.loseUnflushedWrites()
            if verbose {
                print("cycle \(cycle): killed after \(delay / 1000) ms, \(acked.reduce(0, +)) blocks acknowledged \(acked)")
            }
        }
    }

    /// Appends until the connection fails (kvd killed) or a layer is full; returns the blocks
    /// acknowledged per layer (a prefix of each layer: replies come in request order).
    private static func append(
        cycle: Int, client: KVClient, blocks: CrashBlocks, pipeline: Int, blocksPerAppend: Int,
        onFirstAcknowledgement: () -> Void
    ) async -> [Int] {
        let layers = CrashBlocks.shape.layers
        var next = [Int](repeating: 0, count: layers)
        var acked = [Int](repeating: 0, count: layers)
        var inFlight: [(layer: Int, end: Int, reply: PendingReply<[BlockID]>)] = []
        var turn = 0
        // A dense retrieve lists a whole layer, at most maxBlocksPerRequest blocks.
        let layerLimit = Int(client.server.maxBlocksPerRequest)
        while true {
            while inFlight.count < pipeline && next[turn % layers] + blocksPerAppend <= layerLimit {
                let layer = turn % layers
                turn += 1
                let start = next[layer]
                let records = (start..<start + blocksPerAppend).map { blocks.block(cycle: cycle, layer: layer, position: $0) }
                inFlight.append((layer, start + blocksPerAppend, client.submitAppendBlocks(session: CrashBlocks.session(cycle), blocks: records)))
                next[layer] = start + blocksPerAppend
            }
            guard !inFlight.isEmpty else { return acked }
            let oldest = inFlight.removeFirst()
            guard (try? await oldest.reply.value()) != nil else { return acked }
            if acked.allSatisfy({ $0 == 0 }) { onFirstAcknowledgement() }
            acked[oldest.layer] = oldest.end
        }
    }

    /// Checks the session of `cycle` against what was acknowledged; returns its stored counts
    /// per layer (nil when the session is gone).
    private func check(cycle: Int, acknowledged: [Int], client: KVClient, blocks: CrashBlocks, figures: inout Figures) async throws -> [Int]? {
        let session = CrashBlocks.session(cycle)
        let info: SessionInfo
        do {
            info = try await client.openSession(session)
        } catch {
            guard error.code == .sessionNotFound else { throw CrashCycleError.call("openSession \(session)", error) }
            // The create was acknowledged before any append: the whole session was lost.
            figures.lost += acknowledged.reduce(0, +)
            print("cycle \(cycle): session \(session) lost with \(acknowledged.reduce(0, +)) acknowledged blocks")
            return nil
        }
        for (layer, count) in info.blockCounts.enumerated() where Int(count) < acknowledged[layer] {
            figures.lost += acknowledged[layer] - Int(count)
            print("cycle \(cycle): layer \(layer): \(count) stored < \(acknowledged[layer]) acknowledged")
        }
        _ = try await compare(cycle: cycle, client: client, blocks: blocks, figures: &figures)
        try? await client.closeSession(session)
        return info.blockCounts.map(Int.init)
    }

    /// Sessions of earlier cycles still hold the counts found right after their crash.
    private func checkOlder(_ counts: ArraySlice<[Int]?>, client: KVClient, figures: inout Figures) async throws {
        let sessions = try await call("listSessions") { () async throws(KVClientError) in try await client.allSessions() }
        let byName = Dictionary(sessions.map { ($0.name, $0.blockCounts.map(Int.init)) }, uniquingKeysWith: { a, _ in a })
        for (cycle, expected) in counts.enumerated() {
            guard let expected else { continue }
            let now = byName[CrashBlocks.session(cycle)] ?? [Int](repeating: 0, count: expected.count)
            for layer in expected.indices where now[layer] < expected[layer] {
                figures.lost += expected[layer] - now[layer]
                print("session \(CrashBlocks.session(cycle)) layer \(layer): \(now[layer]) blocks, had \(expected[layer])")
            }
        }
    }

    /// Compares every stored block of the session of `cycle` with what was appended; returns
    /// how many blocks it holds (0 when it does not exist).
    private func compare(cycle: Int, client: KVClient, blocks: CrashBlocks, figures: inout Figures) async throws -> Int {
        let session = CrashBlocks.session(cycle)
        var total = 0
        for layer in 0..<CrashBlocks.shape.layers {
            let request = RetrieveRequest(
                session: session, layer: UInt16(layer), method: .dense, mode: .decode, chunkSequence: 0,
                probe: [Float](repeating: 0.5, count: CrashBlocks.shape.vectorDimension), wantPayloads: true)
            let result: RetrieveResult
            do {
                result = try await client.retrieve(request)
            } catch {
                if error.code == .sessionNotFound { return 0 }
                throw CrashCycleError.call("retrieve \(session) layer \(layer)", error)
            }
            total += result.chosen.count
            let positions = Set(result.chosen.map { Int($0.position) })
            if positions != Set(0..<result.chosen.count) {
                figures.differing += 1
                print("\(session) layer \(layer): positions are not 0..<\(result.chosen.count)")
            }
            if result.payloads.count != result.chosen.count {
                figures.differing += 1
                print("\(session) layer \(layer): \(result.payloads.count) payloads for \(result.chosen.count) blocks")
            }
            for recalled in result.payloads {
                let position = Int(result.chosen[Int(recalled.index)].position)
                if !recalled.payload.elementsEqual(blocks.payload(cycle: cycle, layer: layer, position: position)) {
                    figures.differing += 1
                    print("\(session) layer \(layer) block \(position): payload differs from the one appended")
                }
            }
        }
        return total
    }

    /// Runs a call that must succeed on a running daemon.
    private func call<T>(_ what: String, _ body: () async throws(KVClientError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw CrashCycleError.call(what, error)
        }
    }
}

extension CommandLine {
    /// The running executable's path (`/proc/self/exe`), else `argv[0]`.
    static var executablePathOfSelf: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}

import CLMDB
import CoreTypes
import Foundation
import Testing
@testable import KVStore

/// Durability promises (docs/STORAGE.md, "Durability"). A process crash is tested for real: the
/// test binary re-runs itself as a child that appends and prints each acknowledgement, and is
/// killed with SIGKILL mid-stream. Power loss cannot be simulated here; what is tested for it is
/// that each mode flushes when it promises to.
@Suite("Durability")
struct DurabilityTests {
    static let childDirectory = "KVSTORE_TEST_CHILD_DIRECTORY"
    static let childMode = "KVSTORE_TEST_CHILD_DURABILITY"

    static func durability(_ name: String) -> Durability {
        switch name {
        case "periodic": .periodic(milliseconds: 25)
        case "none": .none
        default: .sync
        }
    }

    static func blocks(_ d: ModelDescriptor, position p: Int) -> [NewBlock] {
        testBlocks(d, stream: 4242, positions: p..<(p + 1))
    }

    /// Appends one position at a time and prints `KVSTORE-ACK p` after each acknowledgement.
    /// Run by `killedProcessLosesNothingAcknowledged` as a child (in its directory, until killed);
    /// run alone it checks a short stream in a temporary directory.
    @Test("appends are acknowledged in order and all readable (crash-test child)")
    func acknowledgedAppendsAreReadable() async throws {
        let environment = ProcessInfo.processInfo.environment
        let temporary = environment[Self.childDirectory] == nil ? TempDirectory() : nil
        defer { temporary?.cleanup() }
        let path = environment[Self.childDirectory] ?? temporary!.path
        let count = temporary == nil ? 1_000_000 : 8
        var configuration = StoreConfiguration(directory: path)
        configuration.mapSize = 1 << 30
        configuration.durability = Self.durability(environment[Self.childMode] ?? "sync")
        let store = try KVStore(configuration: configuration)
        let d = testDescriptor()
        _ = try await store.createSession(name: "crash", owner: 1, descriptor: d)
        for p in 0..<count {
            _ = try await store.append(session: "crash", blocks: Self.blocks(d, position: p))
            FileHandle.standardOutput.write(Data("KVSTORE-ACK \(p)\n".utf8))
        }
        #expect(store.session(named: "crash")?.blocksPerLayer == Array(repeating: count, count: d.layers))
        await store.close()
    }

    @Test("a SIGKILLed writer process loses nothing acknowledged", arguments: ["sync", "periodic", "none"])
    func killedProcessLosesNothingAcknowledged(mode: String) async throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--testing-library", "swift-testing", "--filter", "acknowledgedAppendsAreReadable"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childDirectory] = dir.path
        environment[Self.childMode] = mode
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()

        // Wait for 25 acknowledgements (or the child's end), then kill it mid-stream.
        var output = ""
        var lastAck = -1
        let reader = pipe.fileHandleForReading
        while lastAck < 25 {
            let data = reader.availableData
            if data.isEmpty { break }
            output += String(decoding: data, as: UTF8.self)
            for line in output.split(separator: "\n") where line.hasPrefix("KVSTORE-ACK ") {
                lastAck = max(lastAck, Int(line.dropFirst("KVSTORE-ACK ".count)) ?? -1)
            }
        }
        try #require(lastAck >= 25, "child did not run: \(output.suffix(2000))")
        // While the child serves the directory, this process cannot open it.
        #expect(throws: StoreError.locked) { try openStore(dir) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let store = try openStore(dir) { $0.durability = Self.durability(mode) }
        let d = testDescriptor()
        let record = try #require(store.session(named: "crash"))
        let stored = record.blocksPerLayer[0]
        // Everything acknowledged is there; at most the requests in flight at the kill are extra.
        #expect(stored > lastAck)
        #expect(record.blocksPerLayer == Array(repeating: stored, count: d.layers))
        let blocks = (0..<stored).flatMap { Self.blocks(d, position: $0) }
        let ids = blocks.map { BlockID.derive(namespace: 1, descriptor: d, layer: $0.layer, prefixHash: $0.prefixHash) }
        #expect(try store.payloads(ids) == blocks.map { Array($0.payload) })
        #expect(store.verify().isOK)
        print("durability \(mode): killed after \(lastAck + 1) acknowledgements; \(stored) positions stored")
        // And the store keeps working after the crash.
        _ = try await store.append(session: "crash", blocks: Self.blocks(d, position: stored))
        await store.close()
    }

    @Test("periodic mode flushes within its period; none flushes only at close; sync relies on per-commit fsync")
    func flushSchedule() async throws {
        let d = testDescriptor()
        for mode in ["periodic", "none", "sync"] {
            let dir = TempDirectory()
            defer { dir.cleanup() }
            let store = try openStore(dir) { $0.durability = Self.durability(mode) }
            // sync: LMDB fsyncs every commit itself; the others commit without it.
            #expect((store.core.lmdb.flags & UInt32(MDB_NOSYNC) != 0) == (mode != "sync"))
            _ = try await store.createSession(name: "s", owner: 1, descriptor: d)
            _ = try await store.append(session: "s", blocks: Self.blocks(d, position: 0))
            if mode == "periodic" {
                let flusher = try #require(store.writer.flusher, "periodic mode has a flusher")
                /// Polls (bounded, 30 s) until the flusher has flushed everything committed and
                /// blocks until the next commit — from then on it cannot flush by itself.
                func waitUntilIdle(after flushes: Int) async throws {
                    for _ in 0..<6000 where !(store.stats().flushes > flushes && flusher.isWaitingForCommit) {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    #expect(store.stats().flushes > flushes, "nothing flushed after a commit")
                    #expect(flusher.isWaitingForCommit, "the flusher does not go idle: it keeps flushing with nothing committed")
                }
                try await waitUntilIdle(after: 0)
                // At most one flush per commit (createSession, append): it flushes only when
                // something was committed since its last flush.
                let settled = store.stats()
                #expect(settled.flushes <= settled.commits)
                // The next commit wakes it, and it flushes that commit too, then idles again.
                _ = try await store.append(session: "s", blocks: Self.blocks(d, position: 1))
                try await waitUntilIdle(after: settled.flushes)
                let later = store.stats()
                #expect(later.flushes - settled.flushes <= later.commits - settled.commits)
            } else {
                // No flusher: nothing flushes the map before close() (LMDB's own per-commit
                // fsync in sync mode is not a flush of the store's).
                #expect(store.writer.flusher == nil)
                #expect(store.stats().flushes == 0)
            }
            await store.close()
            let reopened = try openStore(dir)
            #expect(reopened.session(named: "s")?.blocksPerLayer == (mode == "periodic" ? [2, 2, 2] : [1, 1, 1]))
            await reopened.close()
        }
    }
}

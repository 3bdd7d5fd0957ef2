import CoreTypes
import Foundation
import KVClient
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM while several clients stream requests: every call ends with success or a typed
/// `shuttingDown` / connection-closed error (never a hang, never another error), in-flight
/// appends finish, and every acknowledged append is there after a restart.
extension EndToEnd {
@Suite struct ShutdownDuringRequestsTests {
    /// How one client's stream ended.
    struct Outcome: Sendable {
        var layer: Int?
        var succeeded = 0
        var acknowledgedBlocks = 0
        var ending: KVClientError?
    }

    static func stream(socket: String, appender layer: Int?, shape: ModelDescriptor, progress: Locked<Int>) async -> Outcome {
        var outcome = Outcome(layer: layer)
        let client: KVClient
        do {
            client = try await KVClient.connect(socketPath: socket)
        } catch {
            outcome.ending = error
            return outcome
        }
        defer { client.close() }
        do {
            if layer != nil { _ = try await client.openSession("s") }
            while true {
                if let layer {
                    let position = outcome.acknowledgedBlocks
                    _ = try await client.appendBlocks(session: "s", blocks: [ModelShapes.block(shape, layer: layer, position: position, seed: 12)])
                    outcome.acknowledgedBlocks += 1
                } else {
                    _ = try await client.stats()
                }
                outcome.succeeded += 1
                if outcome.succeeded == 1 { progress.withLock { $0 += 1 } }
            }
        } catch {
            outcome.ending = error
        }
        return outcome
    }

    @Test func everyCallEndsWithSuccessOrATypedShutdownError() async throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", "sync"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.tiny
        let setup = try TestClient(socketPath: daemon.socketPath)
        try setup.createSession("s", shape)
        setup.close()

        let socket = daemon.socketPath
        let layers: [Int?] = [0, 1, nil, nil, nil, nil]
        let started = Locked(0)
        let outcomes = try await withThrowingTaskGroup(of: Outcome?.self) { group in
            for layer in layers {
                group.addTask { await Self.stream(socket: socket, appender: layer, shape: shape, progress: started) }
            }
            // SIGTERM once every stream is running; then the guard against a hang: if the
            // streams are not all done 30 s later, the test fails.
            group.addTask {
                // (The streams never stop on their own: once each has had a success, all run.)
                for _ in 0..<2000 where started.current < layers.count { try await Task.sleep(for: .milliseconds(10)) }
                let status = await withCheckedContinuation { continuation in
                    Thread { continuation.resume(returning: (try? daemon.stop(signal: SIGTERM)) ?? -1) }.start()
                }
                #expect(status == 0, "kvd exit status after SIGTERM: \(status)\n\(daemon.log_())")
                try? await Task.sleep(for: .seconds(30))
                if !Task.isCancelled { Issue.record("a client call was still waiting 30 s after SIGTERM") }
                return nil
            }
            var outcomes: [Outcome] = []
            for try await outcome in group {
                guard let outcome else { continue }
                outcomes.append(outcome)
                if outcomes.count == layers.count { group.cancelAll() }  // ends the guard's sleep
            }
            return outcomes
        }
        try #require(outcomes.count == layers.count, "every stream ended")
        var shuttingDownSeen = 0
        for outcome in outcomes {
            #expect(outcome.succeeded > 0, "each stream made progress before the signal")
            let ending = try #require(outcome.ending)
            switch ending {
            case .server(let error):
                #expect(error.code == .shuttingDown, "\(ending)")
                shuttingDownSeen += 1
            case .connectionClosed(_, let serverError):
                #expect(serverError == nil || serverError?.code == .shuttingDown, "\(ending)")
                if serverError?.code == .shuttingDown { shuttingDownSeen += 1 }
            default:
                Issue.record("a call ended with \(ending)")
            }
        }
        #expect(shuttingDownSeen > 0, "at least one client was told the daemon is shutting down: \(outcomes.map { "\($0.ending!)" })")

        // Every acknowledged append is stored, byte for byte.
        try daemon.start()
        let check = try TestClient(socketPath: daemon.socketPath)
        defer { check.close() }
        for outcome in outcomes {
            guard let layer = outcome.layer else { continue }
            let stored = try check.allBlocks("s", layer: layer, dimension: shape.vectorDimension)
            #expect(stored.count >= outcome.acknowledgedBlocks, "layer \(layer): \(stored.count) stored < \(outcome.acknowledgedBlocks) acknowledged")
            for position in 0..<min(stored.count, outcome.acknowledgedBlocks) {
                #expect(stored[position].payload == Array(ModelShapes.block(shape, layer: layer, position: position, seed: 12).payload))
            }
        }
    }
}
}

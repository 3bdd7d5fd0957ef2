import CoreTypes
import DaemonTestSupport
import Foundation
import Testing
import KVClient
import KVDaemon
import Protocol

/// The connection ends under pending calls: every call gets a typed error, none hangs.
@Suite("Connection loss")
struct ConnectionLossTests {
    @Test("server gone mid-request: every pending call fails with connectionClosed, later calls too")
    func serverGoneMidRequest() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("big", descriptor: testDescriptor)

        // 64 pipelined appends of 40 blocks (~2 MB each) keep the connection busy; the server
        // shuts down while most of them are still queued or unanswered. They are queued in
        // order from this task (each layer's positions must arrive in order).
        let pending = (0..<64).map { i in
            let layer = UInt16(i % 4)
            let start = UInt32(i / 4) * 40
            return client.submitAppendBlocks(session: "big", blocks: makeBlocks(layer: layer, positions: start..<(start + 40), seed: 3))
        }
        // The server is taken away as soon as the first reply arrives: the connection worked,
        // and the other 63 requests are still queued or unanswered (the server takes up at most
        // its pipeline depth of them before it refuses the rest). The replies are awaited on
        // threads of their own (withHangGuard): on a cooperative pool kept busy by other tests,
        // the first reply would be seen only after the daemon (on its own threads) answered
        // them all.
        let shutdown = OneShot()
        let results = try await withHangGuard(seconds: 60) {
            await withTaskGroup(of: Result<[BlockID], KVClientError>.self) { group in
                for reply in pending {
                    group.addTask {
                        let result: Result<[BlockID], KVClientError>
                        do throws(KVClientError) {
                            result = .success(try await reply.value())
                        } catch {
                            result = .failure(error)
                        }
                        if shutdown.claim() { daemon.server.shutdown() }
                        return result
                    }
                }
                var all: [Result<[BlockID], KVClientError>] = []
                for await r in group { all.append(r) }
                return all
            }
        }
        var failures = 0
        for r in results {
            if case .failure(let error) = r {
                failures += 1
                #expect(error.isConnectionLoss || error.code == .shuttingDown, "\(error)")
            }
        }
        #expect(failures > 0, "the shutdown came after every request had been answered")
        try await daemon.stop()

        // After the loss: immediate typed failure, no hang.
        let after = try await withHangGuard(seconds: 10) { () -> KVClientError? in
            do throws(KVClientError) {
                _ = try await client.stats()
                return nil
            } catch {
                return error
            }
        }
        #expect(after?.isConnectionLoss == true)
        #expect(client.isConnected == false)
    }

    @Test("close() fails the calls still waiting and later calls")
    func closeFailsWaitingCalls() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("c", descriptor: testDescriptor)
        // The client is closed by the first call that gets an answer (the connection worked);
        // the others are then waiting or not yet made. The calls run on threads of their own
        // (see serverGoneMidRequest).
        let closing = OneShot()
        let results = try await withHangGuard(seconds: 60) {
            await withTaskGroup(of: KVClientError?.self) { group in
                for i in 0..<32 {
                    group.addTask {
                        let blocks = makeBlocks(layer: 0, positions: UInt32(i * 40)..<UInt32(i * 40 + 40), seed: 4)
                        let outcome: KVClientError?
                        do throws(KVClientError) {
                            _ = try await client.appendBlocks(session: "c", blocks: blocks)
                            outcome = nil
                        } catch {
                            outcome = error
                        }
                        if outcome?.isConnectionLoss != true, closing.claim() { client.close() }
                        return outcome
                    }
                }
                var errors: [KVClientError?] = []
                for await e in group { errors.append(e) }
                return errors
            }
        }
        for case let error? in results {
            // Appends that raced past the close may be rejected for their position; the rest were cut off.
            #expect(error.isConnectionLoss || error.code == .badPosition, "\(error)")
        }
        #expect(closing.isClaimed, "no call was answered before the close")
        #expect(results.contains { $0?.isConnectionLoss == true }, "close() cut off no waiting call: \(results)")
        do throws(KVClientError) {
            _ = try await client.stats()
            Issue.record("a call after close() succeeded")
        } catch {
            #expect(error == .connectionClosed(reason: "closed by the client", serverError: nil))
        }
        try await daemon.stop()
    }

    @Test("connecting where nothing listens is connectFailed with the errno")
    func connectFailure() async {
        do throws(KVClientError) {
            _ = try await KVClient.connect(socketPath: "/tmp/kvclient-no-such-dir/kvd.sock")
            Issue.record("connected")
        } catch {
            guard case .connectFailed(_, let code, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == 2)  // ENOENT
            #expect(error.isConnectionLoss)
        }
    }

    // No upper bound on the wait but the time limit: on a loaded machine the test's own task
    // may resume long after the connection was closed (CI measured 276 s behind busy threads).
    @Test(
        "a daemon that accepts but never answers the handshake (stopped, hung): connect fails with connectionClosed naming it after the handshake timeout",
        .timeLimit(.minutes(10)))
    func silentDaemonIsAHandshakeTimeout() async throws {
        let path = NSTemporaryDirectory() + "silent-\(UUID().uuidString.prefix(8)).sock"
        defer { unlink(path) }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in path.utf8.enumerated() { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 8) == 0)
        let started = ContinuousClock.now
        do {
            _ = try await KVClient.connect(socketPath: path, configuration: KVClientConfiguration(handshakeTimeout: .seconds(1)))
            Issue.record("connected to a daemon that never answered")
        } catch {
            guard case .connectionClosed(let reason, nil) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(reason.contains("did not answer the handshake") && reason.contains(path), "\(reason)")
        }
        #expect(ContinuousClock.now - started >= .seconds(1))
    }

    @Test("a cancelled call returns cancelled promptly and the connection stays usable")
    func cancellation() async throws {
        let daemon = try await InProcessDaemon { $0.retrievalTokens = 32 }
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("x", descriptor: testDescriptor)
        // Large appends, one after another, until a call ends with an error: the task is
        // cancelled once the first one has been acknowledged (the connection works), so a call
        // is waiting or about to be made when the cancellation lands. The bound (far more
        // appends than can finish before the cancel arrives) only keeps a broken cancellation
        // from running forever; it then ends with nil and the test fails.
        // The appending task runs on a thread of its own, so that it sees the cancellation
        // within the hang guard's 30 s even while other tests hold the cooperative pool.
        let acknowledged = OneShot()
        let executor = DedicatedExecutor(threads: 1, name: "cancelled-appends")
        defer { executor.shutdown() }
        let task = Task(executorPreference: executor) { () -> KVClientError? in
            do throws(KVClientError) {
                for i in 0..<500 {
                    let blocks = makeBlocks(layer: 1, positions: UInt32(i * 40)..<UInt32(i * 40 + 40), seed: 5)
                    _ = try await client.appendBlocks(session: "x", blocks: blocks)
                    _ = acknowledged.claim()
                }
                return nil
            } catch {
                return error
            }
        }
        // The watch for the first acknowledgement and the cancel run on threads of their own
        // too: on a cooperative pool held by other tests, the cancel came only after all 500
        // appends had finished.
        let error = try await withDedicatedThreads { () async throws -> KVClientError? in
            for _ in 0..<3000 where !acknowledged.isClaimed { try await Task.sleep(for: .milliseconds(10)) }
            try #require(acknowledged.isClaimed, "no append was acknowledged within 30 s")
            task.cancel()
            return try await withHangGuard(seconds: 30) { await task.value }
        }
        #expect(error == .cancelled, "\(String(describing: error))")
        // The connection is still usable and answers in order.
        #expect(try await client.stats().connections >= 1)
        client.close()
        try await daemon.stop()
    }
}

import Testing
import KVClient

/// The connection ends under pending calls: every call gets a typed error, none hangs.
@Suite("Connection loss")
struct ConnectionLossTests {
    @Test("server gone mid-request: every pending call fails with connectionClosed, later calls too")
    func serverGoneMidRequest() async throws {
        let daemon = try await TestDaemon()
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
        let results = try await withHangGuard(seconds: 60) {
            await withTaskGroup(of: Result<[BlockID], KVClientError>.self) { group in
                for reply in pending {
                    group.addTask {
                        do throws(KVClientError) {
                            return .success(try await reply.value())
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                group.addTask {
                    // Let a few requests through, then take the server away.
                    try? await Task.sleep(for: .milliseconds(30))
                    daemon.server.shutdown()
                    return .success([])
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
        let daemon = try await TestDaemon()
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("c", descriptor: testDescriptor)
        let results = try await withHangGuard(seconds: 60) {
            await withTaskGroup(of: KVClientError?.self) { group in
                for i in 0..<32 {
                    group.addTask {
                        let blocks = makeBlocks(layer: 0, positions: UInt32(i * 40)..<UInt32(i * 40 + 40), seed: 4)
                        do throws(KVClientError) {
                            _ = try await client.appendBlocks(session: "c", blocks: blocks)
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(20))
                    client.close()
                    return nil
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

    @Test("a cancelled call returns cancelled promptly and the connection stays usable")
    func cancellation() async throws {
        let daemon = try await TestDaemon()
        defer { daemon.removeFiles() }
        let client = try await KVClient.connect(socketPath: daemon.socketPath)
        daemon.watch(client)
        _ = try await client.createSession("x", descriptor: testDescriptor)
        let task = Task { () -> KVClientError? in
            // Large appends queue behind each other; cancel while they wait.
            do throws(KVClientError) {
                for i in 0..<50 {
                    let blocks = makeBlocks(layer: 1, positions: UInt32(i * 40)..<UInt32(i * 40 + 40), seed: 5)
                    _ = try await client.appendBlocks(session: "x", blocks: blocks)
                }
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let error = try await withHangGuard(seconds: 30) { await task.value }
        #expect(error == .cancelled, "\(String(describing: error))")
        // The connection is still usable and answers in order.
        #expect(try await client.stats().connections >= 1)
        client.close()
        try await daemon.stop()
    }
}

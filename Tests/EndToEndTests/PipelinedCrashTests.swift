import Foundation
import Protocol
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` while one connection keeps several appends in flight (pipelined, as the worker's
/// `submitAppendBlocks` does) in `sync` mode: every append whose reply arrived is stored.
extension EndToEnd {
@Suite struct PipelinedCrashTests {
    @Test func killNineKeepsEveryAcknowledgedPipelinedAppend() throws {
        let daemon = try DaemonProcess(extraArguments: ["--durability", "sync", "--append-pipeline", "4"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let shape = ModelShapes.smolLM2
        let client = try TestClient(socketPath: daemon.socketPath)
        try client.createSession("pipe", shape)

        // One thread keeps four 8-block appends of layer 2 in flight and reads their replies,
        // which must come in request order, until the daemon dies.
        let acknowledged = Locked(0)
        let problem = Locked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            var sent = 0
            var nextID: UInt64 = 100
            var inFlight: [UInt64] = []
            while true {
                while inFlight.count < 4 {
                    let blocks = (sent..<sent + 8).map { ModelShapes.block(shape, layer: 2, position: $0, seed: 31) }
                    guard let frame = try? Message.appendBlocks(AppendBlocks(session: "pipe", blocks: blocks)).encodeFrame(requestID: nextID),
                          (try? client.connection.send(frame)) != nil
                    else { return }
                    inFlight.append(nextID)
                    nextID += 1
                    sent += 8
                }
                guard let reply = try? client.connection.receiveFrame() else { return }
                guard reply.requestID == inFlight[0] else {
                    problem.withLock { $0 = "reply \(reply.requestID) while \(inFlight[0]) was the oldest in flight" }
                    return
                }
                guard case .appended(let appended)? = try? Message.decode(
                    Frame(rawType: reply.type, flags: reply.flags, requestID: reply.requestID, body: reply.body[...])),
                    appended.ids.count == 8
                else {
                    problem.withLock { $0 = "request \(reply.requestID): not an 8-block appended reply" }
                    return
                }
                inFlight.removeFirst()
                acknowledged.withLock { $0 += 8 }
            }
        }.start()
        var waited = 0
        while acknowledged.current < 400 && waited < 500 {
            usleep(20_000)
            waited += 1
        }
        try daemon.stop(signal: SIGKILL)
        done.wait()
        client.close()
        #expect(problem.current == nil, "\(problem.current ?? "")")
        let count = acknowledged.current
        #expect(count > 0, "appends were acknowledged before the kill")

        try daemon.start()
        let check = try TestClient(socketPath: daemon.socketPath)
        let stored = try check.allBlocks("pipe", layer: 2, dimension: shape.vectorDimension)
        #expect(stored.count >= count, "\(stored.count) stored < \(count) acknowledged")
        for position in 0..<min(count, stored.count) {
            let expected = ModelShapes.block(shape, layer: 2, position: position, seed: 31)
            #expect(stored[position].payload == Array(expected.payload), "block \(position)")
        }
        check.close()
        let verify = try Kvctl.run(["--socket", daemon.socketPath, "verify", "--json"])
        #expect(verify.status == 0, "kvctl verify: \(verify.output)")
        #expect(try daemon.stop() == 0)
    }
}
}

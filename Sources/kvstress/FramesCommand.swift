import ArgumentParser
import CoreTypes
import Foundation
import KVClient
import Protocol

/// `kvstress frames`: random and mutated frames against a running kvd.
///
/// `--workers` threads each open connection after connection until `--frames` frames were sent
/// in total. A connection starts with a valid `hello` or a handshake abuse, sends up to
/// `--max-frames-per-connection` structured frames (valid requests, mutated valid requests,
/// random types and bodies, reply types, empty bodies; length fields correct, so each must get
/// exactly one reply), at most `--window` in flight, and ends by closing, by vanishing inside a
/// frame, or by breaking the framing (length below 12, above the maximum, off by a few bytes,
/// random bytes). Every byte the daemon sends must be a well-formed reply frame: a reply type
/// whose body the client's decoder accepts, an `error` with a documented code other than
/// `internal`, the predicted code for frames the decoder rejects (``FrameExpectation``), the
/// documented closes. Afterwards kvd must still be running and serve a normal client; the
/// sessions the run created are dropped. Prints the figures; exits 1 on any failure.
struct FramesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames", abstract: "Send random and mutated frames to a running kvd and check every reply.")

    @Option(name: .long, help: "Socket of the running kvd.") var socket: String = "/run/kvd/kvd.sock"
    @Option(name: .long, help: "Pid of the kvd (default: the process listening on --socket, from SO_PEERCRED).") var pid: Int32?
    @Option(name: .long, help: "Frames to send in total.") var frames: Int = 1_000_000
    @Option(name: .long, help: "Threads, each with one connection at a time.") var workers: Int = 4
    @Option(name: .long, help: "Most structured frames on one connection.") var maxFramesPerConnection: Int = 96
    @Option(name: .long, help: "Most frames in flight on one connection.") var window: Int = 16
    @Option(name: .long, help: "Seed of the random choices (default: from the clock).") var seed: UInt64?
    @Option(name: .long, help: "Seconds to wait for a reply before reporting the daemon unresponsive.") var replyTimeout: Int = 30
    @Option(name: .long, help: "Stop after this many failures.") var maxFailures: Int = 20

    func validate() throws {
        guard frames >= 1, workers >= 1, maxFramesPerConnection >= 1, window >= 1, replyTimeout >= 1, maxFailures >= 1 else {
            throw ValidationError("--frames, --workers, --max-frames-per-connection, --window, --reply-timeout and --max-failures must be ≥ 1")
        }
    }

    func run() async throws {
        let probe = try DaemonProbe.locate(socketPath: socket, pid: pid)
        let seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let rssBefore = try probe.residentKiB()
        print("kvstress frames: socket \(socket), kvd pid \(probe.pid), seed \(seed), \(workers) workers, \(frames) frames")

        let tally = Locked(FramesTally())
        let settings = FramesWorker.Settings(
            socketPath: socket, totalFrames: frames, maxFramesPerConnection: maxFramesPerConnection, window: window,
            replyTimeout: replyTimeout, maxFailures: maxFailures)
        let start = monotonicSeconds()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Locked(workers)
            for index in 0..<workers {
                let thread = Thread {
                    var worker = FramesWorker(index: index, seed: seed &+ UInt64(index) &* 0x1_0000_0001, settings: settings, tally: tally)
                    worker.run()
                    if remaining.withLock({ $0 -= 1; return $0 }) == 0 { done.resume() }
                }
                thread.name = "kvstress-frames-\(index)"
                thread.start()
            }
        }
        let elapsed = monotonicSeconds() - start
        let alive = probe.isAlive
        let rssAfter = alive ? (try? probe.residentKiB()) : nil
        let peak = alive ? (try? probe.peakResidentKiB()) : nil

        var result = tally.withLock { $0 }
        var clientCheck = "not run (kvd is not running)"
        if alive {
            do {
                clientCheck = try await Self.normalClient(socket: socket)
                let dropped = try await Self.dropSessions(socket: socket, names: result.createdSessions.union(result.sessionPool))
                clientCheck += "; \(dropped) sessions created by the run dropped"
            } catch {
                result.failures.append("normal client after the run: \(error)")
                clientCheck = "FAILED: \(error)"
            }
        } else {
            result.failures.append("kvd (pid \(probe.pid)) is not running after the run")
        }
        result.print(elapsed: elapsed)
        print("kvd RSS before \(mib(rssBefore)), after \(rssAfter.map(mib) ?? "-") (peak \(peak.map(mib) ?? "-")); kvd alive after the run: \(alive ? "yes" : "NO")")
        print("normal client afterwards: \(clientCheck)")
        if result.failures.isEmpty {
            print("result: PASS")
        } else {
            print("result: FAIL, \(result.failureCount) failures; first ones:")
            for failure in result.failures.prefix(10) { print("  \(failure)") }
            throw ExitCode(1)
        }
    }

    /// A normal client's session on the daemon after the abuse: stats, create, append, retrieve,
    /// fetch, checkpoint, drop — every reply checked.
    static func normalClient(socket: String) async throws -> String {
        let client = try await KVClient.connect(socketPath: socket)
        defer { client.close() }
        let stats = try await client.stats()
        let name = "kvstress-frames-check-\(getpid())"
        let descriptor = FrameForge.descriptor
        _ = try await client.createSession(name, descriptor: descriptor)
        var random = SplitMix64(seed: 42)
        let blocks = (0..<4).map { position in
            BlockRecord(
                layer: UInt16(position % 2), position: UInt32(position / 2), prefixHash: PrefixHash(high: 1, low: UInt64(position)),
                representativeKey: (0..<descriptor.vectorDimension).map { _ in random.gaussian() },
                payload: random.bytes(descriptor.payloadBytes)[...])
        }
        let ids = try await client.appendBlocks(session: name, blocks: blocks)
        let retrieved = try await client.retrieve(RetrieveRequest(
            session: name, layer: 0, method: .dense, mode: .decode, chunkSequence: 1, probe: blocks[0].representativeKey))
        let fetched = try await client.fetchBlocks(session: name, ids: ids)
        guard retrieved.chosen.count == 2, fetched.map(\.record.payload) == blocks.map(\.payload) else {
            throw StressError("normal client read back wrong data (\(retrieved.chosen.count) chosen, fetched payloads differ)")
        }
        try await client.putCheckpoint(session: name, chunkSequence: 1, tokenCount: 8, workerState: [1, 2, 3])
        guard try await client.getCheckpoint(session: name).workerState == [1, 2, 3] else {
            throw StressError("normal client read back a wrong checkpoint")
        }
        try await client.dropSession(name)
        return "ok (stats: \(stats.requests) requests, \(stats.errors) errors answered so far; create, append, retrieve, fetch, checkpoint, drop)"
    }

    /// Drops the sessions of `names` that exist; returns how many were dropped. A session still
    /// held by a connection the daemon has not finished closing is retried a bounded number of
    /// times.
    static func dropSessions(socket: String, names: Set<String>) async throws -> Int {
        let client = try await KVClient.connect(socketPath: socket)
        defer { client.close() }
        var dropped = 0
        for name in names.sorted() {
            for attempt in 0...100 {
                let code: ErrorCode?
                do {
                    try await client.dropSession(name)
                    dropped += 1
                    code = nil
                } catch {
                    code = error.code
                    guard code == .sessionBusy || code == .sessionNotFound else { throw error }
                }
                guard code == .sessionBusy, attempt < 100 else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return dropped
    }
}

/// Everything the workers of one run counted.
struct FramesTally: Sendable {
    var framesSent = 0
    var connections = 0
    var garbageBytes = 0
    var structured: [FrameForge.Kind: Int] = [:]
    var openings: [FrameForge.Opening: Int] = [:]
    var endings: [FrameForge.Ending: Int] = [:]
    var replies = 0
    var successReplies = 0
    var errorCodes: [ErrorCode: Int] = [:]
    /// Structured frames the client's decoder rejected, answered with exactly its code.
    var predictedErrors = 0
    /// Replies cut off when kvd closed a connection this client had half-closed.
    var cutOffAfterHalfClose = 0
    var failureCount = 0
    var failures: [String] = []
    var createdSessions: Set<String> = []
    var sessionPool: Set<String> = []

    mutating func fail(_ description: String) {
        failureCount += 1
        if failures.count < 100 { failures.append(description) }
    }

    func print(elapsed: Double) {
        func list<K>(_ counts: [K: Int], _ name: (K) -> String) -> String {
            counts.map { (name($0.key), $0.value) }.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        }
        let rate = Double(framesSent) / max(elapsed, 1e-9)
        Swift.print("frames sent \(framesSent) on \(connections) connections in \(String(format: "%.1f", elapsed)) s (\(Int(rate)) frames/s); random bytes sent \(garbageBytes)")
        Swift.print("  structured frames: \(list(structured, \.rawValue))")
        Swift.print("  connection openings: \(list(openings, \.rawValue))")
        Swift.print("  connection endings: \(list(endings, \.rawValue))")
        Swift.print("replies \(replies): success \(successReplies), errors \(replies - successReplies); structured frames the decoder rejects answered with its code: \(predictedErrors)")
        Swift.print("  error codes seen: \(list(errorCodes) { "\($0)(\($0.rawValue))" })")
        Swift.print("  replies cut off by kvd's close after this client half-closed (wrongLength/garbage endings): \(cutOffAfterHalfClose)")
    }
}

/// One worker thread's connections.
struct FramesWorker {
    struct Settings: Sendable {
        var socketPath: String
        var totalFrames: Int
        var maxFramesPerConnection: Int
        var window: Int
        var replyTimeout: Int
        var maxFailures: Int
    }

    /// The largest frame this client announces (the daemon's replies must respect it).
    static let clientMaxFrameBytes: UInt32 = 16 << 20

    let index: Int
    var forge: FrameForge
    let settings: Settings
    let tally: Locked<FramesTally>
    /// Counts of this worker, merged into `tally` after every connection.
    var local = FramesTally()

    init(index: Int, seed: UInt64, settings: Settings, tally: Locked<FramesTally>) {
        self.index = index
        self.settings = settings
        self.tally = tally
        let pool = (0..<3).map { "kvstress-frames-\(getpid())-w\(index)-\($0)" }
        forge = FrameForge(seed: seed, sessionPool: pool)
        local.sessionPool = Set(pool)
    }

    mutating func run() {
        while true {
            let (sent, failed) = tally.withLock { ($0.framesSent, $0.failureCount) }
            guard sent < settings.totalFrames, failed < settings.maxFailures else { return }
            do throws(StressError) {
                try connection(budget: settings.totalFrames - sent)
            } catch {
                local.fail("worker \(index): \(error)")
            }
            merge()
        }
    }

    private mutating func merge() {
        let counts = local
        local = FramesTally()
        tally.withLock { total in
            total.framesSent += counts.framesSent
            total.connections += counts.connections
            total.garbageBytes += counts.garbageBytes
            total.structured.merge(counts.structured, uniquingKeysWith: +)
            total.openings.merge(counts.openings, uniquingKeysWith: +)
            total.endings.merge(counts.endings, uniquingKeysWith: +)
            total.replies += counts.replies
            total.successReplies += counts.successReplies
            total.errorCodes.merge(counts.errorCodes, uniquingKeysWith: +)
            total.predictedErrors += counts.predictedErrors
            total.cutOffAfterHalfClose += counts.cutOffAfterHalfClose
            total.failureCount += counts.failureCount
            total.failures += counts.failures.prefix(max(0, 100 - total.failures.count))
            total.createdSessions.formUnion(counts.createdSessions)
            total.sessionPool.formUnion(counts.sessionPool)
        }
    }

    /// Reads one reply: a well-formed frame (else throws); nil when the daemon closed. A frame
    /// cut off by the close is a failure, except after this client half-closed
    /// (`afterHalfClose`): kvd closes a connection as soon as it reads end of stream, dropping
    /// the replies it has not yet written, and a large one can be cut off (counted in
    /// ``FramesTally/cutOffAfterHalfClose``).
    private mutating func receive(
        _ socket: StressSocket, limits: ProtocolLimits, afterHalfClose: Bool = false
    ) throws(StressError) -> (FrameHeader, Message)? {
        switch try socket.receiveFrame(maxFrameBytes: Self.clientMaxFrameBytes) {
        case .closed:
            return nil
        case .cutOff(let received, let frameBytes):
            guard afterHalfClose else {
                throw StressError("connection closed inside a frame (\(received) of \(frameBytes) bytes)")
            }
            local.cutOffAfterHalfClose += 1
            return nil
        case .frame(let header, let body):
            let message = try decodeReply(header, body, limits: limits).get()
            local.replies += 1
            if case .error(let e) = message {
                local.errorCodes[e.code, default: 0] += 1
            } else {
                local.successReplies += 1
            }
            return (header, message)
        }
    }

    /// Expects one error frame with `code` and `requestID`, then (if `closes`) end of stream.
    private mutating func expectError(
        _ code: ErrorCode, id requestID: UInt64, closes: Bool, on socket: StressSocket, limits: ProtocolLimits, what: String
    ) throws(StressError) {
        guard let (header, reply) = try receive(socket, limits: limits) else {
            throw StressError("\(what): connection closed without the \(code) reply")
        }
        guard case .error(let e) = reply, e.code == code, header.requestID == requestID else {
            throw StressError("\(what): expected \(code) for request \(requestID), got \(reply.type) for \(header.requestID): \(reply)")
        }
        if closes {
            guard try receive(socket, limits: limits) == nil else { throw StressError("\(what): the daemon did not close after \(code)") }
        }
    }

    /// One connection: opening, structured frames, ending.
    private mutating func connection(budget: Int) throws(StressError) {
        let socket = try StressSocket(path: settings.socketPath, receiveTimeoutSeconds: settings.replyTimeout)
        defer { socket.close() }
        local.connections += 1
        // Replies are decoded with the client's limits; the daemon's come from its helloOK.
        var clientLimits = ProtocolLimits(maxFrameBytes: Self.clientMaxFrameBytes)
        let hello = FrameForge.helloBody(maxFrameBytes: Self.clientMaxFrameBytes)
        var nextID: UInt64 = 1

        let opening = forge.opening()
        local.openings[opening, default: 0] += 1
        func send(_ bytes: [UInt8], frames: Int) throws(StressError) {
            local.framesSent += frames
            guard try socket.send(bytes) else { throw StressError("daemon closed the connection while frames were being sent") }
        }
        switch opening {
        case .hello:
            break
        case .badMagic:
            var body = hello
            body[forge.random.below(4)] ^= UInt8(1 + forge.random.below(255))
            try send(FrameForge.frame(type: MessageType.hello.rawValue, requestID: nextID, body: body), frames: 1)
            try expectError(.badMagic, id: nextID, closes: true, on: socket, limits: clientLimits, what: "bad magic")
            return
        case .badVersion:
            let body = Array(hello[0..<4]) + [UInt8(2 + forge.random.below(200)), UInt8(forge.random.below(256))] + Array(hello[6...])
            try send(FrameForge.frame(type: MessageType.hello.rawValue, requestID: nextID, body: body), frames: 1)
            try expectError(.unsupportedVersion, id: nextID, closes: true, on: socket, limits: clientLimits, what: "bad version")
            return
        case .requestBeforeHello:
            try send(FrameForge.frame(type: MessageType.stats.rawValue, requestID: nextID, body: []), frames: 1)
            try expectError(.handshakeRequired, id: nextID, closes: true, on: socket, limits: clientLimits, what: "request before hello")
            return
        case .shortHello:
            try send(FrameForge.frame(type: MessageType.hello.rawValue, requestID: nextID, body: Array(hello.prefix(forge.random.int(4...9)))), frames: 1)
            try expectError(.malformedFrame, id: nextID, closes: false, on: socket, limits: clientLimits, what: "short hello")
            nextID += 1
        case .badMaxFrame:
            let maxFrame = forge.random.chance(50) ? UInt32(forge.random.below(Int(ProtocolLimits.minimumMaxFrameBytes)))
                : ProtocolLimits.absoluteMaxFrameBytes + 1 + UInt32(forge.random.below(1 << 30))
            try send(FrameForge.frame(type: MessageType.hello.rawValue, requestID: nextID, body: FrameForge.helloBody(maxFrameBytes: maxFrame)), frames: 1)
            try expectError(.badArgument, id: nextID, closes: false, on: socket, limits: clientLimits, what: "hello with bad maxFrameBytes")
            nextID += 1
        }
        try send(FrameForge.frame(type: MessageType.hello.rawValue, requestID: nextID, body: hello), frames: 1)
        guard let (helloHeader, helloReply) = try receive(socket, limits: clientLimits), case .helloOK(let server) = helloReply,
              helloHeader.requestID == nextID
        else {
            throw StressError("valid hello not answered with helloOK")
        }
        nextID += 1
        clientLimits.maxBlocksPerRequest = server.maxBlocksPerRequest
        let serverLimits = ProtocolLimits(maxFrameBytes: server.maxFrameBytes, maxBlocksPerRequest: server.maxBlocksPerRequest)

        // Structured frames, a window at a time; every one answered exactly once.
        var remaining = min(budget, forge.random.int(1...settings.maxFramesPerConnection))
        while remaining > 0 {
            let count = min(remaining, forge.random.int(1...settings.window))
            remaining -= count
            var batch: [UInt8] = []
            var expected: [UInt64: (FrameExpectation, MessageType?)] = [:]
            for _ in 0..<count {
                let (kind, type, body, flags) = forge.structured()
                local.structured[kind, default: 0] += 1
                expected[nextID] = (FrameExpectation.predict(type: type, body: body, flags: flags, limits: serverLimits), MessageType(rawValue: type))
                batch += FrameForge.frame(type: type, requestID: nextID, body: body, flags: flags)
                nextID += 1
            }
            try send(batch, frames: count)
            for _ in 0..<count {
                guard let (header, reply) = try receive(socket, limits: clientLimits) else {
                    throw StressError("daemon closed the connection with \(expected.count) requests unanswered")
                }
                guard let (expectation, requestType) = expected.removeValue(forKey: header.requestID) else {
                    throw StressError("reply \(reply.type) for request id \(header.requestID), which is not awaiting a reply")
                }
                if let problem = expectation.mismatch(with: reply) {
                    local.fail("request \(requestType.map { "\($0)" } ?? "type ?") (id \(header.requestID)): \(problem)")
                } else if case .error = expectation {
                    local.predictedErrors += 1
                }
                if case .sessionInfo(let info) = reply, requestType == .createSession || requestType == .forkSession {
                    local.createdSessions.insert(info.name)
                }
            }
        }

        let ending = forge.ending()
        local.endings[ending, default: 0] += 1
        let (bytes, frames) = forge.breakingBytes(ending, requestID: nextID, maxFrameBytes: server.maxFrameBytes)
        switch ending {
        case .close:
            return
        case .lengthBelowHeader, .lengthAboveMaximum:
            try send(bytes, frames: frames)
            try expectError(
                ending == .lengthBelowHeader ? .malformedFrame : .frameTooLarge, id: 0, closes: true, on: socket,
                limits: clientLimits, what: ending.rawValue)
        case .truncatedFrame:
            try send(bytes, frames: frames)
            socket.shutdownWrite()
            if let (_, reply) = try receive(socket, limits: clientLimits, afterHalfClose: true) {
                throw StressError("a frame cut off by end of stream was answered with \(reply.type)")
            }
        case .wrongLength, .garbage:
            if ending == .garbage { local.garbageBytes += bytes.count }
            // The daemon may close as soon as the framing breaks: a failed write is fine here.
            local.framesSent += frames
            _ = try socket.send(bytes)
            socket.shutdownWrite()
            // Whatever comes back must be well-formed frames, then end of stream (bounded: each
            // reply answers at least 16 bytes sent).
            for _ in 0...(bytes.count / 16 + 1) {
                guard try receive(socket, limits: clientLimits, afterHalfClose: true) != nil else { return }
            }
            throw StressError("\(ending.rawValue): more replies than frames sent")
        }
    }
}

/// A value behind a lock, shared by the worker threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

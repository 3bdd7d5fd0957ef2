import CoreTypes
import Protocol

/// Random, non-zero contents for every message type.
struct RandomMessages {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func u16() -> UInt16 { UInt16.random(in: 1...UInt16.max, using: &rng) }
    mutating func u32() -> UInt32 { UInt32.random(in: 1...UInt32.max, using: &rng) }
    mutating func u64() -> UInt64 { UInt64.random(in: 1...UInt64.max, using: &rng) }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }

    mutating func float() -> Float {
        let magnitude = Float.random(in: 0.001...1000, using: &rng)
        return bool() ? magnitude : -magnitude
    }

    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }

    mutating func bytes(_ n: Int) -> ArraySlice<UInt8> {
        (0..<n).map { _ in UInt8.random(in: 1...255, using: &rng) }[...]
    }

    mutating func name() -> String {
        let pieces = ["doc", "σύνοδος", "漢字", "q", "-", "_", "ß", "🙂", "42", "session"]
        var s = ""
        for _ in 0..<int(1...6) { s += pieces[int(0...(pieces.count - 1))] }
        return s
    }

    mutating func id() -> BlockID { BlockID(high: u64(), low: u64()) }
    mutating func ids(_ n: Int) -> [BlockID] { (0..<n).map { _ in id() } }

    mutating func descriptor() -> ModelDescriptor {
        let kv = int(1...4)
        return ModelDescriptor(
            layers: int(1...40), queryHeads: kv * int(1...4), kvHeads: kv,
            headDim: int(1...128), elementType: bool() ? .fp16 : .bf16,
            blockSize: int(1...64), fingerprint: u64())
    }

    mutating func records(count: Int) -> [BlockRecord] {
        let keyDim = int(1...64)
        let payload = 4 * int(1...64)
        return (0..<count).map { _ in
            BlockRecord(
                layer: u16(), position: u32(), prefixHash: PrefixHash(high: u64(), low: u64()),
                representativeKey: floats(keyDim), payload: bytes(payload))
        }
    }

    mutating func sessionInfo() -> SessionInfo {
        let d = descriptor()
        return SessionInfo(
            name: name(), ownerUID: u32(), descriptor: d, checkpointSequence: bool() ? u64() : nil,
            storedBytes: u64(), createdAtMillis: u64(), lastUsedAtMillis: u64(),
            blockCounts: (0..<d.layers).map { _ in u32() })
    }

    mutating func sessionDetail() -> SessionDetail {
        let info = sessionInfo()
        return SessionDetail(
            info: info, openConnections: u32(), sharedBlocks: u64(), rawBytes: u64(),
            layerStoredBytes: (0..<info.descriptor.layers).map { _ in u64() })
    }

    mutating func stats() -> Stats {
        Stats(
            uptimeSeconds: u64(), connections: u32(), sessions: u64(), blocks: u64(), storedBytes: u64(),
            capacityBytes: u64(), requests: u64(), errors: u64(),
            counters: (0..<int(1...8)).map { _ in StatCounter(name: name(), value: u64()) },
            histograms: (0..<int(1...4)).map { _ in
                StatHistogram(
                    name: name(), sumSeconds: Double(float().magnitude),
                    buckets: (0..<int(1...10)).map { _ in
                        HistogramBucket(upperBoundSeconds: Double(float().magnitude), count: u64())
                    })
            })
    }

    mutating func verifyReport() -> VerifyReportReply {
        let failures = (0..<int(0...4)).map { _ in
            VerifyFailure(
                block: bool() ? id() : nil, session: bool() ? name() : "",
                reason: VerifyFailureKind.allCases[int(0...(VerifyFailureKind.allCases.count - 1))], message: name())
        }
        let total = UInt64(failures.count) + (failures.isEmpty ? 0 : UInt64(int(0...3)))
        return VerifyReportReply(ok: total == 0, blocksChecked: u64(), referencesChecked: u64(), failureTotal: total, failures: failures)
    }

    /// One random instance of every message case, in `MessageType` order.
    mutating func everyMessage() -> [Message] {
        let dim = int(1...96)
        let chosen = (0..<int(1...12)).map { _ in ChosenBlock(id: id(), position: u32()) }
        let payloadBytes = 4 * int(1...50)
        var payloads: [RecalledPayload] = []
        for (i, _) in chosen.enumerated() where bool() || i == 0 {
            payloads.append(RecalledPayload(index: UInt32(i), payload: bytes(payloadBytes)))
        }
        let fetched = records(count: int(1...5)).map { StoredBlock(id: id(), record: $0) }
        return [
            .hello(Hello(version: u16(), maxFrameBytes: UInt32(int(Int(ProtocolLimits.minimumMaxFrameBytes)...Int(ProtocolLimits.absoluteMaxFrameBytes))))),
            .createSession(CreateSession(name: name(), descriptor: descriptor())),
            .openSession(SessionRequest(name: name())),
            .closeSession(SessionRequest(name: name())),
            .listSessions(ListSessions(after: bool() ? name() : "", limit: UInt32(int(1...4096)))),
            .dropSession(SessionRequest(name: name())),
            .forkSession(ForkSession(source: name(), target: name(), blockCount: u32(), copyCheckpoint: bool())),
            .appendBlocks(AppendBlocks(session: name(), blocks: records(count: int(1...6)))),
            .retrieve(RetrieveRequest(
                session: name(), layer: u16(), method: RetrievalMethod.allCases[int(0...4)],
                mode: bool() ? .prefill : .decode, chunkSequence: u64(), probe: floats(dim),
                question: bool() ? QuestionTerm(vector: floats(dim), weight: float()) : nil,
                heldIDs: ids(int(1...20)), wantPayloads: bool())),
            .fetchBlocks(FetchBlocks(session: name(), ids: ids(int(1...20)))),
            .putCheckpoint(PutCheckpoint(session: name(), chunkSequence: u64(), tokenCount: u64(), workerState: bytes(int(1...3000)))),
            .getCheckpoint(GetCheckpoint(session: name(), restore: bool())),
            .statsRequest,
            .verify(VerifyRequest(maxFailures: UInt32(int(0...1024)))),
            .reload(ReloadRequest(logLevel: bool() ? WireLogLevel.allCases[int(0...6)] : nil)),
            .backup(BackupRequest(path: "/" + name())),
            .inspectSession(InspectSessionRequest(name: name())),
            .helloOK(HelloOK(version: u16(), maxFrameBytes: UInt32(int(Int(ProtocolLimits.minimumMaxFrameBytes)...Int(ProtocolLimits.absoluteMaxFrameBytes))), maxBlocksPerRequest: u32(), peerUID: u32(), peerGID: u32())),
            .ok,
            .sessionInfo(sessionInfo()),
            .sessionList(SessionList(sessions: (0..<int(1...5)).map { _ in sessionInfo() }, hasMore: bool())),
            .appended(Appended(ids: ids(int(1...30)))),
            .retrieved(RetrieveResult(
                k: u32(), entropy: float(), density: float().magnitude, totalBlocks: u32(), chosen: chosen, payloads: payloads)),
            .blocks(FetchedBlocks(blocks: fetched)),
            .checkpoint(Checkpoint(chunkSequence: u64(), tokenCount: u64(), workerState: bytes(int(1...3000)), retrievalState: bytes(int(1...500)))),
            .stats(stats()),
            .verifyReport(verifyReport()),
            .reloaded(ReloadReply(previous: WireLogLevel.allCases[int(0...6)], current: WireLogLevel.allCases[int(0...6)])),
            .backupDone(BackupReply(bytes: u64(), elapsedMillis: u64(), sessions: u64(), blocks: u64())),
            .sessionDetail(sessionDetail()),
            .error(ProtocolError(ErrorCode.allCases[int(0...(ErrorCode.allCases.count - 1))], name())),
        ]
    }
}

/// Encodes `message` and decodes it back through the frame splitter.
func roundTrip(_ message: Message, requestID: UInt64, limits: ProtocolLimits = .default) throws -> (Frame, Message) {
    let bytes = try message.encodeFrame(requestID: requestID, maxFrameBytes: limits.maxFrameBytes)
    var splitter = FrameSplitter(maxFrameBytes: limits.maxFrameBytes)
    splitter.feed(bytes)
    guard let frame = try splitter.next() else { throw ProtocolError(.malformedFrame, "no frame") }
    return (frame, try Message.decode(frame, limits: limits))
}

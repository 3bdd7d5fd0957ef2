import CoreTypes
import Protocol

/// Makes the frames `kvstress frames` sends: valid requests, mutated valid requests, random
/// types and bodies, reply types — each with a correct length field, so framing stays intact and
/// every one of them must get exactly one reply — plus the handshake abuses and the framing
/// breakers that end a connection.
///
/// Never makes a `reload` or `backup` request (a run as an administrator uid would change the
/// daemon's log level or write backups), nor `verify` on purpose (a whole-store scan).
struct FrameForge {
    var random: SplitMix64
    /// Session names this generator's valid requests use (a few per worker, reused by its
    /// connections so the store stays small).
    let sessionPool: [String]
    /// The small model of the pool sessions: 2 layers, D = 8, 128-byte payloads.
    static let descriptor = ModelDescriptor(
        layers: 2, queryHeads: 2, kvHeads: 1, headDim: 4, elementType: .fp16, blockSize: 8, fingerprint: 0x5157_4E55)
    /// Request types never sent (administrator operations with side effects).
    static let excludedTypes: Set<UInt16> = [MessageType.reload.rawValue, MessageType.backup.rawValue]

    init(seed: UInt64, sessionPool: [String]) {
        random = SplitMix64(seed: seed)
        self.sessionPool = sessionPool
    }

    /// A frame's bytes: the 16-byte header (length = 12 + body) and the body.
    static func frame(type: UInt16, requestID: UInt64, body: [UInt8], flags: UInt16 = 0) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(FrameHeader.byteCount + body.count)
        FrameHeader(length: FrameHeader.minimumLength + UInt32(body.count), rawType: type, flags: flags, requestID: requestID)
            .encode(into: &out)
        return out + body
    }

    /// The body of an encoded frame.
    private static func body(of message: Message) -> [UInt8] {
        // Every message made here encodes (names and sizes are valid by construction).
        let bytes = (try? message.encodeFrame(requestID: 1, maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)) ?? []
        return Array(bytes.dropFirst(FrameHeader.byteCount))
    }

    /// A valid `hello` body (magic, version 1, the given maximum frame size).
    static func helloBody(maxFrameBytes: UInt32) -> [UInt8] { body(of: .hello(Hello(maxFrameBytes: maxFrameBytes))) }

    // MARK: - Structured frames (framing intact: one reply each)

    /// What kind of structured frame was made (for the report).
    enum Kind: String, CaseIterable, Sendable {
        case valid, mutated, randomType, replyType, emptyBody
    }

    /// One structured request frame (type and body) with a correct length field.
    mutating func structured() -> (kind: Kind, type: UInt16, body: [UInt8], flags: UInt16) {
        let flags: UInt16 = random.chance(5) ? UInt16(truncatingIfNeeded: random.next()) : 0
        switch random.below(100) {
        case 0..<30:
            let (type, body) = validRequest()
            return (.valid, type, body, flags)
        case 30..<80:
            let (type, body) = validRequest()
            return (.mutated, type, mutate(body), flags)
        case 80..<88:
            var type = UInt16(truncatingIfNeeded: random.next())
            if Self.excludedTypes.contains(type) { type = 0x7777 }
            return (.randomType, type, random.bytes(random.int(0...64)), flags)
        case 88..<94:
            let reply = random.pick(MessageType.allCases.filter { !$0.isRequest })
            return (.replyType, reply.rawValue, random.bytes(random.int(0...48)), flags)
        default:
            let request = random.pick(MessageType.allCases.filter { $0.isRequest && !Self.excludedTypes.contains($0.rawValue) })
            return (.emptyBody, request.rawValue, [], flags)
        }
    }

    private mutating func name() -> String {
        random.chance(90) ? random.pick(sessionPool) : "kvstress-other-\(random.below(1000))"
    }

    private mutating func floats(_ n: Int) -> [Float] {
        (0..<n).map { _ in random.chance(2) ? random.pick([Float.nan, .infinity, -.infinity, 0]) : random.gaussian() }
    }

    private mutating func ids(_ n: Int) -> [BlockID] {
        (0..<n).map { _ in BlockID(high: random.next(), low: random.next()) }
    }

    private mutating func block(layer: Int, position: Int) -> BlockRecord {
        let d = Self.descriptor
        return BlockRecord(
            layer: UInt16(layer), position: UInt32(position), prefixHash: PrefixHash(high: random.next(), low: random.next()),
            representativeKey: floats(d.vectorDimension), payload: random.bytes(d.payloadBytes)[...])
    }

    /// A well-formed request of a random type (reload and backup excluded).
    private mutating func validRequest() -> (UInt16, [UInt8]) {
        let d = Self.descriptor
        let message: Message
        switch random.below(14) {
        case 0:
            var descriptor = d
            if random.chance(20) { descriptor.layers = random.int(0...5000) }
            message = .createSession(CreateSession(name: name(), descriptor: descriptor))
        case 1: message = .openSession(SessionRequest(name: name()))
        case 2: message = .closeSession(SessionRequest(name: name()))
        case 3: message = .listSessions(ListSessions(after: random.chance(50) ? "" : name(), limit: UInt32(random.int(0...8))))
        case 4: message = .dropSession(SessionRequest(name: name()))
        case 5:
            message = .forkSession(ForkSession(
                source: name(), target: name(), blockCount: random.chance(50) ? ForkSession.allBlocks : UInt32(random.int(0...4)),
                copyCheckpoint: random.chance(30)))
        case 6, 7:
            let layer = random.int(0...1)
            let start = random.int(0...3)
            let count = random.int(1...3)
            message = .appendBlocks(AppendBlocks(session: name(), blocks: (start..<(start + count)).map { block(layer: layer, position: $0) }))
        case 8, 9:
            let dim = random.chance(90) ? d.vectorDimension : random.int(1...16)
            message = .retrieve(RetrieveRequest(
                session: name(), layer: UInt16(random.int(0...2)), method: random.pick(RetrievalMethod.allCases),
                mode: random.pick(RetrievalMode.allCases), chunkSequence: UInt64(random.below(8)), probe: floats(dim),
                question: random.chance(30) ? QuestionTerm(vector: floats(dim), weight: Float(random.int(0...8))) : nil,
                heldIDs: ids(random.int(0...3)), wantPayloads: random.chance(50)))
        case 10: message = .fetchBlocks(FetchBlocks(session: name(), ids: ids(random.int(0...4))))
        case 11:
            message = .putCheckpoint(PutCheckpoint(
                session: name(), chunkSequence: UInt64(random.below(100)), tokenCount: UInt64(random.below(10_000)),
                workerState: random.bytes(random.int(0...200))[...]))
        case 12: message = .getCheckpoint(GetCheckpoint(session: name(), restore: random.chance(50)))
        default: message = random.chance(50) ? .statsRequest : .inspectSession(InspectSessionRequest(name: name()))
        }
        return (message.type.rawValue, Self.body(of: message))
    }

    /// Interesting 32-bit values for count and length fields.
    private static let interesting: [UInt32] = [0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 4095, 4096, 4097, 65535, 65536, 65537,
                                                1 << 20, (1 << 20) + 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]

    /// 1–4 mutations of `body`: bit flips, byte sets, 32-bit patches with interesting values,
    /// truncation, extension, duplication or removal of a run of bytes.
    mutating func mutate(_ body: [UInt8]) -> [UInt8] {
        var b = body
        for _ in 0..<random.int(1...4) {
            switch random.below(8) {
            case 0 where !b.isEmpty:
                b[random.below(b.count)] ^= UInt8(1) << UInt8(random.below(8))
            case 1 where !b.isEmpty:
                b[random.below(b.count)] = random.pick([0, 1, 0x7F, 0x80, 0xFF, UInt8(truncatingIfNeeded: random.next())])
            case 2 where b.count >= 4:
                let at = random.below(b.count - 3)
                let value = random.pick(Self.interesting)
                for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: value >> UInt32(8 * k)) }
            case 3 where !b.isEmpty:
                b.removeLast(random.int(1...b.count))
            case 4:
                b += random.bytes(random.int(1...32))
            case 5 where !b.isEmpty:
                let from = random.below(b.count)
                let run = b[from..<min(b.count, from + random.int(1...16))]
                b.insert(contentsOf: run, at: random.below(b.count + 1))
            case 6 where !b.isEmpty:
                let from = random.below(b.count)
                b.removeSubrange(from..<min(b.count, from + random.int(1...16)))
            default:
                if !b.isEmpty { b[random.below(b.count)] = UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return b
    }

    // MARK: - Connection openers and enders

    /// How a connection begins.
    enum Opening: String, CaseIterable, Sendable {
        /// A valid `hello`.
        case hello
        /// `hello` with a wrong magic: `badMagic`, then the daemon closes.
        case badMagic
        /// `hello` with an unsupported version: `unsupportedVersion`, then the daemon closes.
        case badVersion
        /// A request before `hello`: `handshakeRequired`, then the daemon closes.
        case requestBeforeHello
        /// A `hello` body of 4…9 bytes: `malformedFrame`, the connection stays open (a valid
        /// `hello` follows).
        case shortHello
        /// `hello` announcing a maximum frame size outside 64 KiB…1 GiB: `badArgument`, the
        /// connection stays open (a valid `hello` follows).
        case badMaxFrame
    }

    mutating func opening() -> Opening {
        random.chance(88) ? .hello : random.pick(Array(Opening.allCases.dropFirst()))
    }

    /// How a connection ends.
    enum Ending: String, CaseIterable, Sendable {
        /// The client closes at a frame boundary.
        case close
        /// Part of a frame, then the client vanishes (no reply is possible).
        case truncatedFrame
        /// A length field below 12: `malformedFrame` with request id 0, then the daemon closes.
        case lengthBelowHeader
        /// A length field above the daemon's maximum: `frameTooLarge` with id 0, then close.
        case lengthAboveMaximum
        /// A valid frame whose length field is off (shorter or longer than its body), more
        /// frames behind it, then end of stream: any replies must still be well-formed frames.
        case wrongLength
        /// Random bytes, then end of stream: any replies must still be well-formed frames.
        case garbage
    }

    mutating func ending() -> Ending {
        random.chance(40) ? .close : random.pick(Array(Ending.allCases.dropFirst()))
    }

    /// The bytes of a framing-breaking ending (`truncatedFrame`, `wrongLength`, `garbage`), and
    /// how many frames they hold (counting a partial one).
    mutating func breakingBytes(_ ending: Ending, requestID: UInt64, maxFrameBytes: UInt32) -> (bytes: [UInt8], frames: Int) {
        switch ending {
        case .lengthBelowHeader:
            var bytes: [UInt8] = []
            FrameHeader(length: UInt32(random.int(0...11)), rawType: MessageType.stats.rawValue, requestID: requestID).encode(into: &bytes)
            return (bytes + random.bytes(random.int(0...16)), 1)
        case .lengthAboveMaximum:
            let length = maxFrameBytes &+ 1 &+ UInt32(truncatingIfNeeded: random.next() % UInt64(UInt32.max - maxFrameBytes))
            var bytes: [UInt8] = []
            FrameHeader(length: max(length, maxFrameBytes + 1), rawType: MessageType.appendBlocks.rawValue, requestID: requestID)
                .encode(into: &bytes)
            return (bytes + random.bytes(random.int(0...64)), 1)
        case .truncatedFrame:
            let (type, body) = validRequest()
            let whole = Self.frame(type: type, requestID: requestID, body: body)
            return (Array(whole.prefix(random.int(1...(whole.count - 1)))), 1)
        case .wrongLength:
            let (type, body) = validRequest()
            var whole = Self.frame(type: type, requestID: requestID, body: body)
            let length = UInt32(max(12, Int(whole.count) - 4 + random.int(-16...16)))
            for k in 0..<4 { whole[k] = UInt8(truncatingIfNeeded: length >> UInt32(8 * k)) }
            let next = Self.frame(type: MessageType.stats.rawValue, requestID: requestID + 1, body: [])
            return (whole + next + next, 3)
        case .garbage:
            return (random.bytes(random.int(1...2048)), 1)
        case .close:
            return ([], 0)
        }
    }
}

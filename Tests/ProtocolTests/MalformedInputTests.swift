import CoreTypes
import Testing
@testable import Protocol

/// Limits that allow everything, so that hostile counts are caught only by the bytes-left
/// checks: if a decoder allocated before checking, these tests would try to allocate tens of
/// gigabytes and trap.
let permissiveLimits = ProtocolLimits(
    maxFrameBytes: .max, maxBlocksPerRequest: .max, maxHeldIDs: .max, maxVectorDimension: .max,
    maxSessionsPerList: .max, maxStatEntries: .max, maxHistogramBuckets: .max)

func decodeError(_ frame: Frame, limits: ProtocolLimits = .default) -> ProtocolError? {
    do {
        _ = try Message.decode(frame, limits: limits)
        return nil
    } catch {
        return error
    }
}

func frame(of message: Message, requestID: UInt64 = 1) throws -> Frame {
    let bytes = try message.encodeFrame(requestID: requestID)
    return Frame(rawType: message.type.rawValue, requestID: requestID, body: bytes[16...])
}

/// Overwrites 4 bytes at `offset` of the body with `value` (LE).
func patchU32(_ f: inout Frame, at offset: Int, _ value: UInt32) {
    var body = Array(f.body)
    for k in 0..<4 { body[offset + k] = UInt8(truncatingIfNeeded: value >> UInt32(8 * k)) }
    f.body = body[...]
}

@Suite("Malformed input")
struct MalformedInputTests {
    @Test("every truncation of every message body is a typed error", arguments: 0..<5)
    func truncatedBodies(seed: Int) throws {
        var gen = RandomMessages(seed: UInt64(seed) + 1000)
        for message in gen.everyMessage() {
            // An error's message is the rest of the body, so its truncations are valid.
            if case .error = message { continue }
            let f = try frame(of: message)
            let cuts = Set((0..<min(f.body.count, 64)).map { $0 } + (0..<64).map { _ in gen.int(0...max(0, f.body.count - 1)) })
            for cut in cuts where cut < f.body.count {
                let truncated = Frame(rawType: f.rawType, requestID: f.requestID, body: f.body.prefix(cut))
                let error = decodeError(truncated)
                let expected: ErrorCode = (message.type == .hello && cut < 4) ? .badMagic : .malformedFrame
                #expect(error?.code == expected, "\(message.type) cut at \(cut) of \(f.body.count): \(String(describing: error))")
            }
        }
    }

    @Test("a trailing byte after any message body is malformed")
    func trailingBytes() throws {
        var gen = RandomMessages(seed: 77)
        for message in gen.everyMessage() {
            if case .error = message { continue }
            if case .hello = message { continue }  // hello tolerates extensions
            var f = try frame(of: message)
            f.body = (Array(f.body) + [0x5A])[...]
            #expect(decodeError(f)?.code == .malformedFrame, "\(message.type)")
        }
    }

    @Test("hostile counts give limitExceeded under default limits and malformedFrame without limits")
    func hostileCounts() throws {
        // appendBlocks: name "s" (2 bytes), then keyDim, payloadBytes, count.
        var gen = RandomMessages(seed: 8)
        let append = try frame(of: .appendBlocks(AppendBlocks(session: "s", blocks: gen.records(count: 3))))
        for (offset, value) in [(2, UInt32.max), (6, UInt32.max - 3), (10, UInt32.max), (10, 4), (10, 2), (10, 0)] {
            var f = append
            patchU32(&f, at: offset, value)
            let strict = decodeError(f)
            let loose = decodeError(f, limits: permissiveLimits)
            #expect(strict != nil && loose?.code == .malformedFrame, "offset \(offset) value \(value): \(String(describing: strict)) \(String(describing: loose))")
            if value > 1 << 20 {
                #expect(strict?.code == .limitExceeded)
            }
        }

        // retrieve: name "s" (2) + layer 2 + method, mode, options 3 + sequence 8 = 15 → dim.
        let retrieve = RetrieveRequest(session: "s", layer: 0, method: .actqkv, mode: .prefill, chunkSequence: 1,
                                       probe: gen.floats(8), heldIDs: gen.ids(3), wantPayloads: true)
        let rf = try frame(of: .retrieve(retrieve))
        var f = rf
        patchU32(&f, at: 15, .max)
        #expect(decodeError(f)?.code == .limitExceeded)
        #expect(decodeError(f, limits: permissiveLimits)?.code == .malformedFrame)
        f = rf
        patchU32(&f, at: 15 + 4 + 32, .max)  // heldCount
        #expect(decodeError(f)?.code == .limitExceeded)
        #expect(decodeError(f, limits: permissiveLimits)?.code == .malformedFrame)
        f = rf
        patchU32(&f, at: 15 + 4 + 32, 2)  // fewer ids than bytes
        #expect(decodeError(f)?.code == .malformedFrame)

        // Every u32 position of every message, set to huge values: never traps, always a typed error or a valid message.
        for message in gen.everyMessage() {
            let base = try frame(of: message)
            guard base.body.count >= 4 else { continue }
            for offset in 0...(base.body.count - 4) where offset < 200 {
                for value in [UInt32.max, 0x8000_0000, 0x0100_0000] {
                    var g = base
                    patchU32(&g, at: offset, value)
                    _ = decodeError(g, limits: permissiveLimits)
                    _ = decodeError(g)
                }
            }
        }
    }

    @Test("retrieved payload counts and indices are validated")
    func retrievedValidation() throws {
        let result = RetrieveResult(
            k: 2, entropy: 1, density: 0.5, totalBlocks: 9,
            chosen: [ChosenBlock(id: BlockID(high: 1, low: 2), position: 3), ChosenBlock(id: BlockID(high: 4, low: 5), position: 6)],
            payloads: [RecalledPayload(index: 0, payload: [1, 2, 3, 4][...]), RecalledPayload(index: 1, payload: [5, 6, 7, 8][...])])
        let base = try frame(of: .retrieved(result))
        // k, entropy, density, total (16) + count (4) + 2 × 20 = 60 → payloadBytes, payloadCount.
        var f = base
        patchU32(&f, at: 64, 3)  // more payloads than chosen
        #expect(decodeError(f)?.code == .limitExceeded)
        f = base
        patchU32(&f, at: 68, 1)  // second index = first
        patchU32(&f, at: 76, 0)
        #expect(decodeError(f)?.code == .malformedFrame)
        f = base
        patchU32(&f, at: 60, 8)  // payloadBytes inconsistent
        #expect(decodeError(f)?.code == .malformedFrame)
        f = base
        patchU32(&f, at: 16, 2_000_000)
        #expect(decodeError(f)?.code == .limitExceeded)
    }

    @Test("bad magic is badMagic; an unsupported version is unsupportedVersion")
    func handshakeErrors() throws {
        var f = try frame(of: .hello(Hello()))
        var body = Array(f.body)
        body[2] = 0x58  // "KVX\0"
        f.body = body[...]
        #expect(decodeError(f)?.code == .badMagic)
        #expect(decodeError(Frame(rawType: MessageType.hello.rawValue, requestID: 1, body: [][...]))?.code == .badMagic)

        let v2 = try frame(of: .hello(Hello(version: 2)))
        guard case .hello(let hello) = try Message.decode(v2) else {
            Issue.record("not a hello")
            return
        }
        #expect(throws: ProtocolError(.unsupportedVersion, "version 2 is not supported; this server speaks 1…1")) {
            try ServerHandshake.reply(to: hello, maxFrameBytes: 1 << 20, maxBlocksPerRequest: 8, peerUID: 1, peerGID: 1)
        }
        let ok = try ServerHandshake.reply(to: Hello(), maxFrameBytes: 1 << 20, maxBlocksPerRequest: 8, peerUID: 1000, peerGID: 100)
        #expect(ok == HelloOK(version: 1, maxFrameBytes: 1 << 20, maxBlocksPerRequest: 8, peerUID: 1000, peerGID: 100))

        // A future, longer hello still decodes (so the server can answer unsupportedVersion).
        var longer = try frame(of: .hello(Hello(version: 7)))
        longer.body = (Array(longer.body) + [1, 2, 3])[...]
        #expect(try Message.decode(longer) == .hello(Hello(version: 7)))

        // Announced frame sizes outside 64 KiB…1 GiB.
        #expect(decodeError(try frame(of: .hello(Hello(maxFrameBytes: 1000))))?.code == .badArgument)
        #expect(decodeError(try frame(of: .hello(Hello(maxFrameBytes: .max))))?.code == .badArgument)
    }

    @Test("an unknown message type is unknownMessageType")
    func unknownType() {
        for raw: UInt16 in [0x0000, 0x0002, 0x1234, 0x7FFF, 0x8000, 0xFFFE] {
            #expect(decodeError(Frame(rawType: raw, requestID: 9, body: [1, 2, 3][...]))?.code == .unknownMessageType)
        }
    }

    @Test("invalid field values are badArgument")
    func invalidValues() throws {
        func bad(_ body: [UInt8], _ type: MessageType) -> ErrorCode? {
            decodeError(Frame(rawType: type.rawValue, requestID: 1, body: body[...]))?.code
        }
        // Empty name, NUL in name, invalid UTF-8.
        #expect(bad([0], .openSession) == .badArgument)
        #expect(bad([2, 0x61, 0x00], .openSession) == .badArgument)
        #expect(bad([2, 0xC3, 0x28], .openSession) == .badArgument)
        // Unknown method / mode / option bits in retrieve.
        let retrieve = try frame(of: .retrieve(RetrieveRequest(session: "s", layer: 0, method: .dense, mode: .prefill, chunkSequence: 0, probe: [1])))
        for (offset, value) in [(4, UInt8(6)), (5, 2), (6, 4)] {
            var body = Array(retrieve.body)
            body[offset] = value
            #expect(bad(body, .retrieve) == .badArgument, "offset \(offset)")
        }
        // Descriptor: unknown element type, kvHeads not dividing queryHeads, zero layers.
        let create = try frame(of: .createSession(CreateSession(name: "s", descriptor: ModelDescriptor(
            layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 7))))
        #expect(try Message.decode(create) != .ok)
        for (offset, value) in [(10, UInt8(3)), (6, 2), (2, 0)] {
            var body = Array(create.body)
            body[offset] = value
            body[offset + 1] = offset == 10 ? body[offset + 1] : 0
            #expect(bad(body, .createSession) == .badArgument, "offset \(offset)")
        }
        // Non-boolean flag byte.
        var list = try frame(of: .sessionList(SessionList(sessions: [], hasMore: true)))
        list.body = [0, 0, 0, 0, 2][...]
        #expect(decodeError(list)?.code == .badArgument)
    }

    @Test("SmolLM2's descriptor is valid and sizes follow from it")
    func descriptorSizes() throws {
        let d = ModelDescriptor(layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 1)
        try d.validate()
        #expect(d.vectorDimension == 576)
        #expect(d.payloadBytes == 2 * 3 * 32 * 64 * 2)
        var huge = d
        huge.kvHeads = 1024
        huge.queryHeads = 1024
        huge.headDim = 4096
        huge.blockSize = 65535
        #expect(throws: ProtocolError.self) { try huge.validate() }
    }

    @Test("a descriptor too large for the frame is limitExceeded; within a larger frame but over 64 MiB a block, badArgument")
    func descriptorSizeCodes() {
        var d = ModelDescriptor(layers: 30, queryHeads: 9, kvHeads: 9, headDim: 4096, elementType: .fp16, blockSize: 512, fingerprint: 1)
        #expect(d.payloadBytes > ModelDescriptor.maxPayloadBytes)
        #expect(throws: ProtocolError(.limitExceeded, "model descriptor: a block of \(d.payloadBytes) bytes does not fit in a frame")) {
            try d.validate()
        }
        let wide = ProtocolLimits(maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)
        #expect((try? d.validate(limits: wide)) == nil)
        do {
            try d.validate(limits: wide)
        } catch {
            #expect(error.code == .badArgument)
        }
        d.blockSize = 32
        #expect((try? d.validate(limits: wide)) != nil)
    }
}

import CoreTypes
import Testing
@testable import Protocol

@Suite("Message codec")
struct MessageTests {
    @Test("every message type is generated once per round")
    func generatorCoversEveryType() {
        var gen = RandomMessages(seed: 1)
        let types = gen.everyMessage().map(\.type)
        #expect(Set(types) == Set(MessageType.allCases))
        #expect(types.count == MessageType.allCases.count)
    }

    @Test("every message encodes and decodes back identically (200 random rounds)", arguments: 0..<200)
    func roundTripsRandomContents(seed: Int) throws {
        var gen = RandomMessages(seed: UInt64(seed) &* 7919 &+ 17)
        for message in gen.everyMessage() {
            let requestID = gen.u64()
            let (frame, decoded) = try roundTrip(message, requestID: requestID)
            #expect(frame.requestID == requestID)
            #expect(frame.type == message.type)
            #expect(decoded == message, "\(message.type) did not round-trip")
        }
    }

    @Test("re-encoding a decoded message gives the same bytes")
    func reencodingIsStable() throws {
        var gen = RandomMessages(seed: 99)
        for message in gen.everyMessage() {
            let first = try message.encodeFrame(requestID: 5)
            let (_, decoded) = try roundTrip(message, requestID: 5)
            #expect(try decoded.encodeFrame(requestID: 5) == first)
        }
    }

    @Test("request types have the high bit clear and replies have it set")
    func requestReplyBit() {
        let requests: Set<MessageType> = [
            .hello, .createSession, .openSession, .closeSession, .listSessions, .dropSession, .forkSession,
            .appendBlocks, .retrieve, .fetchBlocks, .putCheckpoint, .getCheckpoint, .stats, .verify,
            .reload, .backup, .inspectSession,
        ]
        for t in MessageType.allCases {
            #expect(t.isRequest == requests.contains(t), "\(t)")
        }
    }

    @Test("hello frame has the documented bytes")
    func helloGoldenBytes() throws {
        let bytes = try Message.hello(Hello()).encodeFrame(requestID: 0x0102_0304_0506_0708)
        #expect(bytes == [
            22, 0, 0, 0,  // length = 12 + 10
            0x01, 0x00,  // type hello
            0x00, 0x00,  // flags
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // request id
            0x4B, 0x56, 0x44, 0x00,  // "KVD\0"
            0x01, 0x00,  // version 1
            0x00, 0x00, 0x00, 0x04,  // 64 MiB
        ])
    }

    @Test("retrieve frame has the documented bytes")
    func retrieveGoldenBytes() throws {
        let request = RetrieveRequest(
            session: "s", layer: 3, method: .actqkvReference, mode: .decode, chunkSequence: 9,
            probe: [1, -2], question: QuestionTerm(vector: [0.5, 4], weight: 4),
            heldIDs: [BlockID(high: 0xAA, low: 0xBB)], wantPayloads: true)
        let bytes = try Message.retrieve(request).encodeFrame(requestID: 1)
        var expected: [UInt8] = []
        expected += [UInt8](repeating: 0, count: 4)  // patched below
        expected += [0x21, 0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        expected += [1, 0x73]  // name "s"
        expected += [3, 0, 2, 1, 0x03]  // layer, method actqkv-ref, mode decode, options question|payloads
        expected += [9, 0, 0, 0, 0, 0, 0, 0]  // chunk sequence
        expected += [2, 0, 0, 0]  // dim
        expected += [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]  // 1, -2
        expected += [0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x80, 0x40]  // 0.5, 4
        expected += [0x00, 0x00, 0x80, 0x40]  // weight 4
        expected += [1, 0, 0, 0]  // held count
        expected += [0xAA, 0, 0, 0, 0, 0, 0, 0, 0xBB, 0, 0, 0, 0, 0, 0, 0]  // id high, low
        let length = UInt32(expected.count - 4)
        expected.replaceSubrange(0..<4, with: [UInt8(length & 0xFF), UInt8(length >> 8), 0, 0])
        #expect(bytes == expected)
        // The project's actqkv travels as method 5, and decodes back.
        var ranked = request
        ranked.method = .actqkv
        var expected5 = expected
        expected5[20] = 5
        let bytes5 = try Message.retrieve(ranked).encodeFrame(requestID: 1)
        #expect(bytes5 == expected5)
        #expect(try Message.decode(Frame(rawType: MessageType.retrieve.rawValue, requestID: 1, body: bytes5[16...])) == .retrieve(ranked))
    }

    @Test("error frame has the documented bytes")
    func errorGoldenBytes() throws {
        let bytes = try Message.error(ProtocolError(.sessionNotFound, "no")).encodeFrame(requestID: 2)
        #expect(bytes == [16, 0, 0, 0, 0xFF, 0xFF, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0x6E, 0x6F])
    }

    @Test("payloads decode as slices of the frame body, in order")
    func payloadsAreFrameSlices() throws {
        var gen = RandomMessages(seed: 3)
        let blocks = gen.records(count: 4)
        let (frame, decoded) = try roundTrip(.appendBlocks(AppendBlocks(session: "x", blocks: blocks)), requestID: 1)
        guard case .appendBlocks(let append) = decoded else {
            Issue.record("wrong case")
            return
        }
        var previousEnd = frame.body.startIndex
        for (b, original) in zip(append.blocks, blocks) {
            #expect(b.payload.startIndex >= previousEnd)
            #expect(b.payload.endIndex <= frame.body.endIndex)
            #expect(b.keys.count == b.values.count)
            #expect(Array(b.keys) + Array(b.values) == Array(original.payload))
            previousEnd = b.payload.endIndex
        }
    }

    @Test("an error message longer than 4096 bytes is truncated at a character boundary")
    func longErrorMessageTruncated() throws {
        let message = String(repeating: "é", count: 3000)  // 6000 bytes
        let (_, decoded) = try roundTrip(.error(ProtocolError(.internal, message)), requestID: 1)
        guard case .error(let e) = decoded else {
            Issue.record("wrong case")
            return
        }
        #expect(e.code == .internal)
        #expect(e.message.utf8.count == 4096)
        #expect(e.message.allSatisfy { $0 == "é" })
    }

    @Test("an unknown error code from a newer server decodes as internal, keeping the number")
    func unknownErrorCode() throws {
        let frame = Frame(rawType: MessageType.error.rawValue, requestID: 4, body: [0x39, 0x30, 0x68, 0x69][...])
        let decoded = try Message.decode(frame)
        #expect(decoded == .error(ProtocolError(.internal, "unrecognised error code 12345: hi")))
    }

    @Test("encoding rejects a frame larger than the receiver's maximum")
    func encodeRejectsOversizedFrame() {
        let state = [UInt8](repeating: 7, count: 70_000)[...]
        let message = Message.putCheckpoint(PutCheckpoint(session: "s", chunkSequence: 1, tokenCount: 2, workerState: state))
        #expect(throws: ProtocolError.self) { try message.encodeFrame(requestID: 1, maxFrameBytes: 65536) }
        do {
            _ = try message.encodeFrame(requestID: 1, maxFrameBytes: 65536)
        } catch {
            #expect(error.code == .frameTooLarge)
        }
    }

    @Test("encoding rejects blocks of mixed sizes and invalid names")
    func encodeRejectsInconsistentInput() {
        var gen = RandomMessages(seed: 5)
        var blocks = gen.records(count: 2)
        blocks[1].payload = blocks[1].payload.dropLast(4)
        for message: Message in [
            .appendBlocks(AppendBlocks(session: "s", blocks: blocks)),
            .openSession(SessionRequest(name: "")),
            .openSession(SessionRequest(name: String(repeating: "x", count: 256))),
            .openSession(SessionRequest(name: "a\u{0}b")),
            .retrieve(RetrieveRequest(session: "s", layer: 0, method: .actqkv, mode: .prefill, chunkSequence: 0,
                                      probe: [1, 2], question: QuestionTerm(vector: [1], weight: 4))),
        ] {
            do {
                _ = try message.encodeFrame(requestID: 1)
                Issue.record("\(message.type) encoded")
            } catch {
                #expect(error.code == .badArgument || error.code == .wrongDimensions)
            }
        }
    }
}

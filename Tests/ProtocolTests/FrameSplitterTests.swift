import CoreTypes
import Testing
@testable import Protocol

@Suite("Frame splitter")
struct FrameSplitterTests {
    func stream(seed: UInt64) throws -> ([Message], [UInt64], [UInt8]) {
        var gen = RandomMessages(seed: seed)
        let messages = gen.everyMessage()
        var ids: [UInt64] = []
        var bytes: [UInt8] = []
        for m in messages {
            let id = gen.u64()
            ids.append(id)
            bytes += try m.encodeFrame(requestID: id)
        }
        return (messages, ids, bytes)
    }

    func drain(_ s: inout FrameSplitter, into frames: inout [Frame]) throws {
        while let f = try s.next() { frames.append(f) }
    }

    @Test("bytes arriving one at a time yield every frame exactly once")
    func oneByteAtATime() throws {
        let (messages, ids, bytes) = try stream(seed: 11)
        var splitter = FrameSplitter()
        var frames: [Frame] = []
        for b in bytes {
            splitter.feed([b])
            try drain(&splitter, into: &frames)
        }
        #expect(frames.count == messages.count)
        #expect(frames.map(\.requestID) == ids)
        #expect(try frames.map { try Message.decode($0) } == messages)
        #expect(splitter.bufferedBytes == 0)
    }

    @Test("many frames in one chunk are all returned")
    func manyFramesInOneChunk() throws {
        let (messages, ids, bytes) = try stream(seed: 12)
        var splitter = FrameSplitter()
        bytes.withUnsafeBytes { splitter.feed($0) }
        var frames: [Frame] = []
        try drain(&splitter, into: &frames)
        #expect(frames.map(\.requestID) == ids)
        #expect(try frames.map { try Message.decode($0) } == messages)
        #expect(try splitter.next() == nil)
    }

    @Test("random chunk sizes give the same frames", arguments: 0..<20)
    func randomChunks(seed: Int) throws {
        let (messages, _, bytes) = try stream(seed: UInt64(seed) + 100)
        var rng = SplitMix64(seed: UInt64(seed))
        var splitter = FrameSplitter()
        var frames: [Frame] = []
        var i = 0
        while i < bytes.count {
            let n = min(bytes.count - i, Int.random(in: 1...5000, using: &rng))
            splitter.feed(bytes[i..<(i + n)])
            i += n
            try drain(&splitter, into: &frames)
        }
        #expect(try frames.map { try Message.decode($0) } == messages)
    }

    @Test("a 4 GiB length prefix is rejected as soon as its 4 bytes arrive")
    func fourGiBLength() {
        var splitter = FrameSplitter()
        splitter.feed([0xFF, 0xFF, 0xFF])
        #expect(throws: Never.self) { _ = try splitter.next() }
        splitter.feed([0xFF])
        #expect(throws: ProtocolError.self) { try splitter.next() }
        do {
            _ = try splitter.next()
        } catch {
            #expect(error.code == .frameTooLarge)
        }
        #expect(splitter.bufferedBytes == 4)
        // Poisoned: more bytes do not resynchronise it.
        splitter.feed([22, 0, 0, 0])
        #expect(throws: ProtocolError.self) { try splitter.next() }
    }

    @Test("a length just beyond the limit is frameTooLarge; at the limit it is accepted")
    func lengthBeyondLimit() throws {
        let limit: UInt32 = 100_000
        var splitter = FrameSplitter(maxFrameBytes: limit)
        var header: [UInt8] = []
        FrameHeader(length: limit + 1, rawType: MessageType.putCheckpoint.rawValue, requestID: 1).encode(into: &header)
        splitter.feed(header)
        do {
            _ = try splitter.next()
            Issue.record("accepted")
        } catch {
            #expect(error.code == .frameTooLarge)
        }

        var ok = FrameSplitter(maxFrameBytes: limit)
        let state = [UInt8](repeating: 3, count: Int(limit) - 12 - 2 - 16 - 4)[...]
        let bytes = try Message.putCheckpoint(PutCheckpoint(session: "s", chunkSequence: 1, tokenCount: 1, workerState: state))
            .encodeFrame(requestID: 2, maxFrameBytes: limit)
        #expect(bytes.count == Int(limit) + 4)
        ok.feed(bytes)
        #expect(try ok.next()?.requestID == 2)
    }

    @Test("a length below the header size is malformedFrame")
    func lengthBelowHeader() throws {
        for length: UInt8 in [0, 1, 11] {
            var splitter = FrameSplitter()
            splitter.feed([length, 0, 0, 0])
            do {
                _ = try splitter.next()
                Issue.record("accepted length \(length)")
            } catch {
                #expect(error.code == .malformedFrame)
            }
        }
        // Exactly the header: an empty body is fine at the framing level.
        var splitter = FrameSplitter()
        splitter.feed([12, 0, 0, 0, 0x40, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])
        #expect(try splitter.next() == Frame(rawType: 0x40, requestID: 7, body: [][...]))
    }

    @Test("a truncated frame yields nothing until its last byte arrives")
    func truncatedFrameWaits() throws {
        let bytes = try Message.statsRequest.encodeFrame(requestID: 3) + Message.ok.encodeFrame(requestID: 4)
        var splitter = FrameSplitter()
        splitter.feed(bytes.dropLast())
        #expect(try splitter.next()?.requestID == 3)
        #expect(try splitter.next() == nil)
        splitter.feed(bytes.suffix(1))
        #expect(try splitter.next()?.requestID == 4)
    }

    @Test("FrameHeader.parse works on a raw buffer and validates the length early")
    func headerParse() throws {
        var bytes: [UInt8] = []
        FrameHeader(length: 40, rawType: 0x21, flags: 3, requestID: 0xDEAD_BEEF).encode(into: &bytes)
        let header = try bytes.withUnsafeBytes { try FrameHeader.parse($0, maxFrameBytes: 1 << 20) }
        #expect(header == FrameHeader(length: 40, rawType: 0x21, flags: 3, requestID: 0xDEAD_BEEF))
        #expect(header?.bodyBytes == 28)
        #expect(header?.frameBytes == 44)
        #expect(header?.type == .retrieve)
        let short = try bytes.prefix(10).withUnsafeBytes { try FrameHeader.parse($0, maxFrameBytes: 1 << 20) }
        #expect(short == nil)
        #expect(throws: ProtocolError.self) {
            try bytes.prefix(4).withUnsafeBytes { try FrameHeader.parse($0, maxFrameBytes: 39) }
        }
    }
}

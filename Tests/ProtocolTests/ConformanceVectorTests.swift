import CoreTypes
import DaemonTestSupport
import Foundation
import Protocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Swift implementation against docs/protocol-vectors (the Python client is tested against
/// the same files): the encoder, the client's decoder, and a real kvd. A missing or empty
/// vector file fails these tests; it never skips them.
@Suite("Conformance vectors (docs/protocol-vectors)")
struct ConformanceVectorTests {
    @Test("requests.json: every request encodes to its frame byte for byte")
    func requestsEncode() throws {
        let (_, vectors) = try ConformanceVectors.load("requests.json")
        for vector in vectors {
            do {
                Self.expectFrame(try ConformanceVectors.message(vector).encodeFrame(requestID: vector.requestID, flags: vector.flags), vector)
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
    }

    @Test("requests.json: kvd's decoder reads every request back as its fields")
    func requestsDecode() throws {
        let (_, vectors) = try ConformanceVectors.load("requests.json")
        for vector in vectors {
            do {
                let decoded = try Message.decode(try Self.splitOne(vector.bytes))
                #expect(decoded == (try ConformanceVectors.message(vector)), "\(vector.name)")
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
    }

    @Test("replies.json: kvd's encoder writes every reply it can represent byte for byte")
    func repliesEncode() throws {
        let (_, vectors) = try ConformanceVectors.load("replies.json")
        var encodedCount = 0
        for vector in vectors {
            // Codes Swift does not know (an unknown error code, a verify reason beyond the
            // table) exist only on the receiving side.
            if vector.type == "error", ErrorCode(rawValue: try vector.fields["code"].exactly()) == nil { continue }
            if vector.fields["failures"].array.contains(where: { !$0["wireReason"].isNull }) { continue }
            do {
                Self.expectFrame(try ConformanceVectors.message(vector).encodeFrame(requestID: vector.requestID, flags: vector.flags), vector)
                encodedCount += 1
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
        #expect(encodedCount >= vectors.count - 2)
    }

    @Test("replies.json: every reply decodes to its fields")
    func repliesDecode() throws {
        let (_, vectors) = try ConformanceVectors.load("replies.json")
        for vector in vectors {
            do {
                let frame = try Self.splitOne(vector.bytes)
                #expect(frame.rawType == vector.typeCode, "\(vector.name): type")
                #expect(frame.requestID == vector.requestID, "\(vector.name): request id")
                let decoded = try Message.decodeReply(frame)
                let expected = try ConformanceVectors.message(vector)
                if case .error(let error) = decoded {
                    // A code the client does not know is `internal` (§6.6); Swift keeps the
                    // received code and message in its text.
                    #expect(error.code == (try ConformanceVectors.errorCode(vector)), "\(vector.name): code")
                    #expect(error.message.hasSuffix(vector.fields["message"].string), "\(vector.name): message \(error.message)")
                } else {
                    #expect(decoded == expected, "\(vector.name)")
                }
            } catch {
                Issue.record("\(vector.name): \(error)")
            }
        }
    }

    @Test("malformed-replies.json: the client's splitter and decoder reject every frame")
    func malformedRepliesRejected() throws {
        let (_, vectors) = try ConformanceVectors.load("malformed-replies.json")
        for vector in vectors {
            #expect(vector.expect["reject"].bool, "\(vector.name): expect.reject")
            var splitter = FrameSplitter(maxFrameBytes: ProtocolLimits.defaultMaxFrameBytes)
            splitter.feed(vector.bytes)
            do {
                guard let frame = try splitter.next() else {
                    Issue.record("\(vector.name): the splitter waits for more bytes instead of rejecting the frame")
                    continue
                }
                let message = try Message.decodeReply(frame)
                Issue.record("\(vector.name) (\(vector.expect["reason"].string)): accepted as \(message)")
            } catch {
                // Rejected, as a ProtocolError (the KVClient reports it as protocolViolation).
            }
        }
    }

    @Test("server-requests.json: an in-process kvd answers every request as expected")
    func serverAnswersRequests() async throws {
        let (descriptor, vectors) = try ConformanceVectors.load("server-requests.json")
        let daemon = try await InProcessDaemon()
        do {
            try await withDedicatedThreads {
                for vector in vectors {
                    do {
                        try Self.serve(vector, descriptor: descriptor, socketPath: daemon.socketPath)
                    } catch {
                        Issue.record("\(vector.name): \(error)")
                    }
                }
            }
        } catch {
            try await daemon.stop()
            throw error
        }
        try await daemon.stop()
    }

    /// `encoded` is the vector's frame; else an issue naming the first differing field.
    static func expectFrame(_ encoded: [UInt8], _ vector: Vector) {
        guard encoded != vector.bytes else { return }
        let offset = encoded.indices.first { $0 >= vector.bytes.count || encoded[$0] != vector.bytes[$0] } ?? encoded.count
        Issue.record(
            """
            \(vector.name): encoded frame differs at \(ConformanceVectors.field(at: offset, of: vector))
              expected \(hexString(vector.bytes))
              encoded  \(hexString(encoded))
            """)
    }

    /// The one frame `bytes` hold.
    static func splitOne(_ bytes: [UInt8]) throws -> Frame {
        var splitter = FrameSplitter(maxFrameBytes: ProtocolLimits.defaultMaxFrameBytes)
        splitter.feed(bytes)
        guard let frame = try splitter.next(), splitter.bufferedBytes == 0 else {
            throw VectorError("not exactly one frame")
        }
        return frame
    }

    /// One server vector on a fresh connection (README.md, "Server vectors").
    static func serve(_ vector: Vector, descriptor: ModelDescriptor, socketPath: String) throws {
        let connection = try RawSocket(path: socketPath, receiveTimeoutSeconds: 10, maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)
        defer { connection.close() }
        let context = vector.context ?? ""
        if context == "handshake" || context == "session" {
            let reply = try connection.request(.hello(Hello()), id: 1)
            guard case .helloOK = reply else { throw VectorError("handshake answered with \(reply)") }
        }
        if context == "session" {
            // `vec` must be fresh: drop the one an earlier vector made (sessionBusy until the
            // server has seen that vector's connection close).
            let deadline = Date().addingTimeInterval(10)
            while case .error(let e) = try connection.request(.dropSession(SessionRequest(name: "vec")), id: 3),
                e.code == .sessionBusy, Date() < deadline {
                usleep(10_000)
            }
            let created = try connection.request(.createSession(CreateSession(name: "vec", descriptor: descriptor)), id: 2)
            guard case .sessionInfo = created else { throw VectorError("createSession answered with \(created)") }
        }
        connection.send(vector.bytes)
        guard let reply = try connection.receiveFrame() else {
            throw VectorError("the server closed the connection without a reply")
        }
        let expect = vector.expect
        let decoded = try? Message.decode(reply)
        if expect["reply"].isNull {
            guard case .error(let error)? = decoded else {
                throw VectorError("expected error \(expect["error"].string), got \(decoded.map { "\($0)" } ?? "an undecodable frame")")
            }
            #expect(error.code.rawValue == (try expect["code"].exactly()), "\(vector.name): \(error)")
        } else {
            #expect(reply.rawType == (try expect["replyTypeCode"].exactly()), "\(vector.name): \(String(describing: decoded))")
        }
        #expect(reply.requestID == (try expect["requestID"].uint64()), "\(vector.name): reply's request id")
        if expect["closes"].bool {
            let next = try connection.receiveFrame()
            #expect(next == nil, "\(vector.name): the connection stays open (then sent \(String(describing: next)))")
        } else {
            // Still usable, and still handshaken when it was.
            let handshaken = context != "connected" || !expect["reply"].isNull
            let follow = try connection.request(handshaken ? .statsRequest : .hello(Hello()), id: 99)
            switch follow {
            case .stats, .helloOK: break
            default: Issue.record("\(vector.name): the follow-up request was answered with \(follow)")
            }
        }
    }
}

extension RawSocket {
    /// Sends `message` with `id` and returns the decoded reply to it.
    func request(_ message: Message, id: UInt64) throws -> Message {
        send(try message.encodeFrame(requestID: id))
        guard let frame = try receiveFrame() else { throw VectorError("the server closed the connection") }
        guard frame.requestID == id else { throw VectorError("reply to \(frame.requestID), expected \(id)") }
        return try Message.decode(frame)
    }
}

import CoreTypes
import Testing
@testable import Protocol

/// The `verify` request and `verifyReport` reply (docs/PROTOCOL.md §6.7).
@Suite("Verify messages")
struct VerifyMessageTests {
    @Test("verify frame has the documented bytes")
    func verifyGoldenBytes() throws {
        let bytes = try Message.verify(VerifyRequest(maxFailures: 100)).encodeFrame(requestID: 3)
        #expect(bytes == [
            0x10, 0, 0, 0, 0x41, 0x00, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
            100, 0, 0, 0,
        ])
    }

    @Test("verifyReport frame has the documented bytes")
    func verifyReportGoldenBytes() throws {
        let report = VerifyReportReply(
            ok: false, blocksChecked: 4, referencesChecked: 5, failureTotal: 2,
            failures: [VerifyFailure(block: BlockID(high: 0x0102, low: 0x0304), session: "", reason: .payloadCorrupt, message: "bad")])
        let bytes = try Message.verifyReport(report).encodeFrame(requestID: 3)
        let body: [UInt8] = [0]  // ok
            + [4, 0, 0, 0, 0, 0, 0, 0]  // blocksChecked
            + [5, 0, 0, 0, 0, 0, 0, 0]  // referencesChecked
            + [2, 0, 0, 0, 0, 0, 0, 0]  // failureTotal
            + [1, 0, 0, 0]  // failureCount
            + [1] + [0x02, 0x01, 0, 0, 0, 0, 0, 0] + [0x04, 0x03, 0, 0, 0, 0, 0, 0]  // hasBlock, id
            + [0]  // session ""
            + [1, 0]  // reason payloadCorrupt
            + [3, 0x62, 0x61, 0x64]  // "bad"
        #expect(Array(bytes[16...]) == body)
        #expect(Array(bytes[0..<8]) == [UInt8(12 + body.count), 0, 0, 0, 0x41, 0x80, 0, 0])
        let (_, decoded) = try roundTrip(.verifyReport(report), requestID: 3)
        #expect(decoded == .verifyReport(report))
    }

    @Test("verify asking for more than 1024 failures is limitExceeded")
    func tooManyFailuresRequested() throws {
        let frame = Frame(rawType: MessageType.verify.rawValue, flags: 0, requestID: 1, body: [0x01, 0x04, 0, 0][...])
        #expect(throws: ProtocolError.self) { try Message.decode(frame) }
        do {
            _ = try Message.decode(frame)
        } catch {
            #expect(error.code == .limitExceeded)
        }
    }

    @Test("an inconsistent report is malformedFrame; an unknown reason reads as other")
    func inconsistentReport() throws {
        // ok = 1 but failureTotal = 1.
        var body: [UInt8] = [1] + [UInt8](repeating: 0, count: 16) + [1, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0]
        var frame = Frame(rawType: MessageType.verifyReport.rawValue, flags: 0, requestID: 1, body: body[...])
        do {
            _ = try Message.decode(frame)
            Issue.record("decoded an inconsistent report")
        } catch {
            #expect(error.code == .malformedFrame)
        }
        body = [0] + [UInt8](repeating: 0, count: 16) + [1, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0, 0]
            + [0] + [UInt8](repeating: 0, count: 16) + [0] + [0xE7, 0x03] + [0]
        frame = Frame(rawType: MessageType.verifyReport.rawValue, flags: 0, requestID: 1, body: body[...])
        guard case .verifyReport(let report) = try Message.decode(frame) else {
            Issue.record("not a verifyReport")
            return
        }
        #expect(report.failures.first?.reason == .other && report.failures.first?.block == nil)
    }

    @Test("a long failure message is truncated at a character boundary")
    func longMessageTruncated() throws {
        let message = String(repeating: "é", count: 200)  // 400 bytes
        let report = VerifyReportReply(
            ok: false, blocksChecked: 1, referencesChecked: 0, failureTotal: 1,
            failures: [VerifyFailure(block: nil, session: "s", reason: .other, message: message)])
        let (_, decoded) = try roundTrip(.verifyReport(report), requestID: 1)
        guard case .verifyReport(let back) = decoded else {
            Issue.record("not a verifyReport")
            return
        }
        #expect(back.failures[0].message == String(repeating: "é", count: 127))
    }
}

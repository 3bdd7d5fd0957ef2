import CoreTypes

/// Ask the server to verify its whole store (type `verify`, 0x0041).
/// Layout: `maxFailures u32` — at most this many failures are listed in the reply
/// (0 = the maximum, ``VerifyRequest/maximumFailures``; larger is `limitExceeded`).
public struct VerifyRequest: WireBody {
    /// The largest number of failures a `verifyReport` lists: 1024.
    public static let maximumFailures: UInt32 = 1024
    /// Failures wanted in the reply, 0…1024 (0 = 1024).
    public var maxFailures: UInt32

    /// Creates the request.
    public init(maxFailures: UInt32 = 0) {
        self.maxFailures = maxFailures
    }

    /// The number of failures the reply may list: `maxFailures`, or 1024 when it is 0.
    public var effectiveMaxFailures: Int { Int(maxFailures == 0 ? Self.maximumFailures : maxFailures) }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        guard maxFailures <= Self.maximumFailures else {
            throw ProtocolError(.badArgument, "verify.maxFailures \(maxFailures) exceeds \(Self.maximumFailures)")
        }
        w.u32(maxFailures)
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> VerifyRequest {
        let n = try r.u32("verify.maxFailures")
        guard n <= maximumFailures else {
            throw ProtocolError(.limitExceeded, "verify.maxFailures \(n) exceeds the limit \(maximumFailures)")
        }
        try r.expectEnd("verify")
        return VerifyRequest(maxFailures: n)
    }
}

/// One problem found by `verify`.
/// Layout: `hasBlock bool | block id [16] (all zero when hasBlock = 0) | session str8 (empty
/// when none) | reason u16 | message str8`.
public struct VerifyFailure: Sendable, Hashable {
    /// The block concerned; nil for a session- or store-level problem.
    public var block: BlockID?
    /// The session concerned; empty when none.
    public var session: String
    /// Stable reason code.
    public var reason: VerifyFailureKind
    /// Human-readable text, at most 255 UTF-8 bytes (senders truncate at a character boundary).
    public var message: String

    /// Creates a failure entry.
    public init(block: BlockID?, session: String, reason: VerifyFailureKind, message: String) {
        self.block = block
        self.session = session
        self.reason = reason
        self.message = message
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.bool(block != nil)
        w.blockID(block ?? BlockID(high: 0, low: 0))
        try w.shortString(session)
        w.u16(reason.rawValue)
        try w.shortString(Self.truncated(message, maxBytes: 255))
    }

    static func decode(from r: inout WireReader) throws(ProtocolError) -> VerifyFailure {
        let hasBlock = try r.bool("verifyFailure.hasBlock")
        let id = try r.blockID("verifyFailure.block")
        let session = try r.shortString("verifyFailure.session")
        let reason = VerifyFailureKind(rawValue: try r.u16("verifyFailure.reason")) ?? .other
        let message = try r.shortString("verifyFailure.message")
        return VerifyFailure(block: hasBlock ? id : nil, session: session, reason: reason, message: message)
    }

    /// `s` cut to at most `maxBytes` UTF-8 bytes at a character boundary.
    static func truncated(_ s: String, maxBytes: Int) -> String {
        let utf8 = Array(s.utf8)
        guard utf8.count > maxBytes else { return s }
        var n = maxBytes
        while n > 0 && (utf8[n] & 0xC0) == 0x80 { n -= 1 }
        return String(decoding: utf8[..<n], as: UTF8.self)
    }
}

/// Reply to `verify` (type `verifyReport`, 0x8041).
/// Layout: `ok bool | blocksChecked u64 | referencesChecked u64 | failureTotal u64 |
/// failureCount u32 (≤ 1024, ≤ failureTotal) | VerifyFailure × failureCount`.
public struct VerifyReportReply: WireBody {
    /// True when nothing is wrong (then failureTotal = 0).
    public var ok: Bool
    /// Payloads decoded and checked.
    public var blocksChecked: UInt64
    /// Block references (session, layer, position) checked.
    public var referencesChecked: UInt64
    /// Problems found in total (may exceed `failures.count`).
    public var failureTotal: UInt64
    /// The first problems found, at most the request's `maxFailures`.
    public var failures: [VerifyFailure]

    /// Creates the reply.
    public init(ok: Bool, blocksChecked: UInt64, referencesChecked: UInt64, failureTotal: UInt64, failures: [VerifyFailure]) {
        self.ok = ok
        self.blocksChecked = blocksChecked
        self.referencesChecked = referencesChecked
        self.failureTotal = failureTotal
        self.failures = failures
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        guard failures.count <= Int(VerifyRequest.maximumFailures), UInt64(failures.count) <= failureTotal,
              ok == (failureTotal == 0)
        else {
            throw ProtocolError(.badArgument, "inconsistent verifyReport: ok \(ok), \(failures.count) of \(failureTotal) failures")
        }
        w.bool(ok)
        w.u64(blocksChecked)
        w.u64(referencesChecked)
        w.u64(failureTotal)
        w.u32(UInt32(failures.count))
        for failure in failures { try failure.encode(into: &w) }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> VerifyReportReply {
        let ok = try r.bool("verifyReport.ok")
        let blocks = try r.u64("verifyReport.blocksChecked")
        let references = try r.u64("verifyReport.referencesChecked")
        let total = try r.u64("verifyReport.failureTotal")
        // A failure is at least 1 + 16 + 1 + 2 + 1 = 21 bytes.
        let n = try r.count("verifyReport.failureCount", limit: VerifyRequest.maximumFailures, minimumElementBytes: 21)
        guard UInt64(n) <= total, ok == (total == 0) else {
            throw .malformed("verifyReport: ok \(ok) with \(n) of \(total) failures")
        }
        var failures: [VerifyFailure] = []
        failures.reserveCapacity(n)
        for _ in 0..<n { failures.append(try VerifyFailure.decode(from: &r)) }
        try r.expectEnd("verifyReport")
        return VerifyReportReply(ok: ok, blocksChecked: blocks, referencesChecked: references, failureTotal: total, failures: failures)
    }
}

import Protocol

/// What kvd must answer to one structured frame (framing intact), predicted with the same
/// decoder the daemon uses and the limits it announced in `helloOK` — the dispatch order of
/// docs/PROTOCOL.md §6–8: an unknown type is `unknownMessageType`, a reply type or a second
/// `hello` is `unexpectedMessage`, a body the decoder rejects gets the decoder's code, and a
/// body it accepts gets the request's success reply or an error the request itself can cause.
enum FrameExpectation: Equatable {
    /// Exactly this error code.
    case error(ErrorCode)
    /// The success reply of this type, or an error of a request that was decoded.
    case reply(MessageType)

    /// Codes that mean the daemon did not decode a frame the client's decoder accepts, or failed
    /// itself: never valid for a decodable request.
    static let notForDecodedRequests: Set<ErrorCode> = [
        .malformedFrame, .frameTooLarge, .unsupportedVersion, .badMagic, .unknownMessageType, .handshakeRequired,
        .unexpectedMessage, .internal,
    ]

    /// The prediction for a frame of `type` with `body` on a connection past its handshake.
    static func predict(type rawType: UInt16, body: [UInt8], flags: UInt16, limits: ProtocolLimits) -> FrameExpectation {
        guard let type = MessageType(rawValue: rawType) else { return .error(.unknownMessageType) }
        guard type.isRequest, type != .hello else { return .error(.unexpectedMessage) }
        do throws(ProtocolError) {
            _ = try Message.decode(Frame(rawType: rawType, flags: flags, requestID: 1, body: body[...]), limits: limits)
        } catch {
            return .error(error.code)
        }
        return .reply(successReply(to: type))
    }

    /// The success reply type of a request type (docs/PROTOCOL.md §6 table).
    static func successReply(to request: MessageType) -> MessageType {
        switch request {
        case .hello: .helloOK
        case .createSession, .openSession, .forkSession: .sessionInfo
        case .closeSession, .dropSession, .putCheckpoint: .ok
        case .listSessions: .sessionList
        case .appendBlocks: .appended
        case .retrieve: .retrieved
        case .fetchBlocks: .blocks
        case .getCheckpoint: .checkpoint
        case .stats: .statsReply
        case .verify: .verifyReport
        case .reload: .reloaded
        case .backup: .backupDone
        case .inspectSession: .sessionDetail
        default: .error
        }
    }

    /// Checks a decoded reply against the prediction; returns a description of the mismatch.
    func mismatch(with reply: Message) -> String? {
        switch (self, reply) {
        case (.error(let code), .error(let e)):
            return e.code == code ? nil : "expected \(code), got \(e.code): \(e.message)"
        case (.error(let code), _):
            return "expected \(code), got \(reply.type)"
        case (.reply, .error(let e)):
            return Self.notForDecodedRequests.contains(e.code) ? "decodable request answered with \(e)" : nil
        case (.reply(let type), _):
            return reply.type == type ? nil : "expected \(type), got \(reply.type)"
        }
    }
}

/// A reply frame decoded by the client's rules: a reply type, a body its decoder accepts, and
/// for an `error` a code from docs/PROTOCOL.md §7 (checked on the raw value, since the decoder
/// maps unknown codes to `internal`). Returns the message or a description of what is wrong.
func decodeReply(_ header: FrameHeader, _ body: [UInt8], limits: ProtocolLimits) -> Result<Message, StressError> {
    guard let type = header.type, !type.isRequest else {
        return .failure(StressError("daemon sent a frame of type 0x\(String(header.rawType, radix: 16)), not a reply type"))
    }
    if type == .error {
        guard body.count >= 2 else { return .failure(StressError("error frame of \(body.count) bytes")) }
        let raw = UInt16(body[0]) | UInt16(body[1]) << 8
        guard let code = ErrorCode(rawValue: raw) else { return .failure(StressError("error frame with unknown code \(raw)")) }
        guard code != .internal else {
            return .failure(StressError("daemon answered internal (50): \(String(decoding: body.dropFirst(2), as: UTF8.self))"))
        }
    }
    do throws(ProtocolError) {
        return .success(try Message.decode(Frame(rawType: header.rawType, flags: header.flags, requestID: header.requestID, body: body[...]), limits: limits))
    } catch {
        return .failure(StressError("daemon's \(type) frame does not decode: \(error)"))
    }
}

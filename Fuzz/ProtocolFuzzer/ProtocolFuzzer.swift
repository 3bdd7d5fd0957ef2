import Protocol

#if canImport(Glibc)
import Glibc
#endif

// libFuzzer target for the wire protocol's receive path: frame splitting and header validation
// (`FrameSplitter`, `FrameHeader`) and `Message.decode` of every message type under several
// `ProtocolLimits`. Not library code: built and run only by scripts/fuzz-protocol.sh, which
// compiles Sources/Protocol as a separate module with `-sanitize=fuzzer,address`, so only the
// module's public API is exercised, as a real receiver would.
//
// Input layout: byte 0 configures the run, the rest is a byte stream as read from a socket.
//   bits 0–1 of byte 0: limits profile (0, 3: defaults; 1: small limits and a 64 KiB maximum
//                       frame; 2: every limit at its maximum, so only the bytes-left checks guard
//                       the allocations);
//   bits 2–4:           feeding: 0 = the whole stream at once, else chunks of 1, 2, 3, 7, 16,
//                       64 or 255 bytes.
//
// Properties checked (a violation traps, which libFuzzer reports as a crash with the input):
//  1. The chunked splitter yields exactly the frames and the terminal outcome of an independent
//     whole-buffer reference splitter; a framing error is `malformedFrame` (length < 12) or
//     `frameTooLarge` (length > maximum) and the splitter stays poisoned afterwards.
//  2. `Message.decode` either returns a message of the frame's type or throws one of the
//     decoder's documented codes (`malformedFrame`, `limitExceeded`, `badArgument`, `badMagic`,
//     `unknownMessageType`; the last exactly when the type is unknown).
//  3. Round trip: a decoded message re-encodes without error; the re-encoded frame splits into
//     exactly one frame with the same header fields and decodes again under the same limits;
//     encoding that second message gives the same bytes (encode∘decode is a fixed point after one
//     step). For message types whose encoding is canonical — every type except those listed in
//     `isCanonical` — the re-encoded frame equals the input frame byte for byte.
//  4. Memory errors and leaks are AddressSanitizer's / LeakSanitizer's job.

/// Counts printed when the fuzzer exits (libFuzzer runs inputs on one thread).
nonisolated(unsafe) var fuzzFigures = FuzzFigures()

/// Counters of one fuzzing process.
struct FuzzFigures {
    /// Inputs run.
    var inputs = 0
    /// Complete frames split out of the inputs (each then decoded).
    var frames = 0
    /// Frames that decoded into a message (each then round-tripped).
    var decoded = 0
    /// Decoded messages whose re-encoding was compared byte for byte with the input frame.
    var canonicalChecked = 0
    /// Decode errors by code (raw value).
    var decodeErrors: [UInt16: Int] = [:]
    /// Framing errors by code (raw value).
    var framingErrors: [UInt16: Int] = [:]
    /// Decoded messages by type (raw value).
    var messages: [UInt16: Int] = [:]
    /// Whether the exit hook is installed.
    var reporting = false
}

/// A violated property: trap (the message goes to stderr) so libFuzzer saves the input.
func violation(_ message: String) -> Never {
    fatalError("protocol fuzzer property violated: \(message)")
}

/// The three limit profiles selected by bits 0–1 of the first byte.
func limits(profile: UInt8) -> ProtocolLimits {
    switch profile & 3 {
    case 1:
        ProtocolLimits(
            maxFrameBytes: ProtocolLimits.minimumMaxFrameBytes, maxBlocksPerRequest: 8, maxHeldIDs: 16,
            maxVectorDimension: 64, maxSessionsPerList: 4, maxStatEntries: 4, maxHistogramBuckets: 4)
    case 2:
        ProtocolLimits(
            maxFrameBytes: .max, maxBlocksPerRequest: .max, maxHeldIDs: .max, maxVectorDimension: .max,
            maxSessionsPerList: .max, maxStatEntries: .max, maxHistogramBuckets: .max)
    default:
        .default
    }
}

/// What splitting a stream produced: its complete frames, then how it ended.
struct SplitOutcome: Equatable {
    enum End: Equatable {
        /// Every byte was consumed, or the tail is a partial frame awaiting more bytes.
        case needMoreData(bufferedBytes: Int)
        /// A length field was invalid: framing is lost.
        case framingError(ErrorCode)
    }

    var frames: [Frame] = []
    var end: End = .needMoreData(bufferedBytes: 0)
}

/// Reference splitter over the whole stream, written from docs/PROTOCOL.md §2 independently of
/// `FrameSplitter`.
func referenceSplit(_ stream: UnsafeRawBufferPointer, maxFrameBytes: UInt32) -> SplitOutcome {
    var outcome = SplitOutcome()
    var offset = 0
    func u16(_ at: Int) -> UInt16 { UInt16(stream[at]) | UInt16(stream[at + 1]) << 8 }
    while stream.count - offset >= 4 {
        var length: UInt32 = 0
        for k in 0..<4 { length |= UInt32(stream[offset + k]) << UInt32(8 * k) }
        if length < 12 {
            outcome.end = .framingError(.malformedFrame)
            return outcome
        }
        if length > maxFrameBytes {
            outcome.end = .framingError(.frameTooLarge)
            return outcome
        }
        guard stream.count - offset >= 4 + Int(length) else { break }
        var requestID: UInt64 = 0
        for k in 0..<8 { requestID |= UInt64(stream[offset + 8 + k]) << UInt64(8 * k) }
        let body = Array(stream[(offset + 16)..<(offset + 4 + Int(length))])
        outcome.frames.append(Frame(rawType: u16(offset + 4), flags: u16(offset + 6), requestID: requestID, body: body[...]))
        offset += 4 + Int(length)
    }
    outcome.end = .needMoreData(bufferedBytes: stream.count - offset)
    return outcome
}

/// `FrameSplitter` fed `stream` in chunks of `chunk` bytes (0 = all at once), pulling frames after
/// every feed.
func chunkedSplit(_ stream: UnsafeRawBufferPointer, maxFrameBytes: UInt32, chunk: Int) -> SplitOutcome {
    var splitter = FrameSplitter(maxFrameBytes: maxFrameBytes)
    var outcome = SplitOutcome()
    var fed = 0
    repeat {
        let n = chunk == 0 ? stream.count : min(chunk, stream.count - fed)
        splitter.feed(UnsafeRawBufferPointer(rebasing: stream[fed..<(fed + n)]))
        fed += n
        while true {
            do throws(ProtocolError) {
                guard let frame = try splitter.next() else { break }
                outcome.frames.append(frame)
            } catch {
                // Poisoned: the same error again, whatever is fed afterwards.
                splitter.feed([0x10, 0, 0, 0])
                do throws(ProtocolError) {
                    _ = try splitter.next()
                    violation("splitter not poisoned after \(error)")
                } catch let again {
                    guard again == error else { violation("splitter reported \(again) after \(error)") }
                }
                outcome.end = .framingError(error.code)
                return outcome
            }
        }
    } while fed < stream.count
    outcome.end = .needMoreData(bufferedBytes: splitter.bufferedBytes)
    return outcome
}

/// Error codes `Message.decode` may throw.
let decoderCodes: Set<ErrorCode> = [.malformedFrame, .limitExceeded, .badArgument, .badMagic, .unknownMessageType]

/// Whether encode(decode(bytes)) must reproduce `bytes` exactly for this message. Not for the
/// messages whose decoder accepts more than one encoding of the same value (each documented):
/// `hello` (trailing extension bytes are ignored), `error` (an unknown code reads as `internal`,
/// invalid UTF-8 is replaced), `sessionInfo`/`sessionList`/`sessionDetail` (the checkpoint
/// sequence is ignored when the flag is clear), `verifyReport` (an unknown reason reads as
/// `other`; the id is ignored when hasBlock = 0), `reload` (the level is ignored when bit 0 is
/// clear), empty `appendBlocks`/`blocks` batches (keyDim and payloadBytes of zero records are
/// not kept) and a `retrieved` without payloads (its payloadBytes is not kept).
func isCanonical(_ message: Message) -> Bool {
    switch message {
    case .hello, .error, .sessionInfo, .sessionList, .sessionDetail, .verifyReport, .reload: false
    case .appendBlocks(let m): !m.blocks.isEmpty
    case .blocks(let m): !m.blocks.isEmpty
    case .retrieved(let m): !m.payloads.isEmpty
    default: true
    }
}

/// Splits `bytes` (one encoded frame) and decodes it: exactly one frame, nothing left over.
func decodeSingle(_ bytes: [UInt8], limits: ProtocolLimits, what: String) -> (Frame, Message) {
    var splitter = FrameSplitter(maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)
    splitter.feed(bytes)
    do throws(ProtocolError) {
        guard let frame = try splitter.next() else { violation("\(what): re-encoded frame incomplete") }
        guard splitter.bufferedBytes == 0 else { violation("\(what): \(splitter.bufferedBytes) bytes after the re-encoded frame") }
        return (frame, try Message.decode(frame, limits: limits))
    } catch {
        violation("\(what): re-encoded frame does not decode: \(error)")
    }
}

/// Properties 2 and 3 for one split frame.
func check(_ frame: Frame, limits: ProtocolLimits) {
    fuzzFigures.frames += 1
    let message: Message
    do throws(ProtocolError) {
        message = try Message.decode(frame, limits: limits)
    } catch {
        guard decoderCodes.contains(error.code) else { violation("decode threw an undocumented code: \(error)") }
        guard (error.code == .unknownMessageType) == (frame.type == nil) else {
            violation("type 0x\(String(frame.rawType, radix: 16)) decoded to \(error)")
        }
        fuzzFigures.decodeErrors[error.code.rawValue, default: 0] += 1
        return
    }
    guard message.type.rawValue == frame.rawType else {
        violation("frame type 0x\(String(frame.rawType, radix: 16)) decoded as \(message.type)")
    }
    fuzzFigures.decoded += 1
    fuzzFigures.messages[frame.rawType, default: 0] += 1

    let first: [UInt8]
    do throws(ProtocolError) {
        first = try message.encodeFrame(requestID: frame.requestID, flags: frame.flags, maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)
    } catch {
        violation("decoded \(message.type) does not re-encode: \(error)")
    }
    let (again, decodedAgain) = decodeSingle(first, limits: limits, what: "\(message.type)")
    guard again.rawType == frame.rawType, again.flags == frame.flags, again.requestID == frame.requestID else {
        violation("\(message.type): re-encoded header differs")
    }
    let second: [UInt8]
    do throws(ProtocolError) {
        second = try decodedAgain.encodeFrame(requestID: again.requestID, flags: again.flags, maxFrameBytes: ProtocolLimits.absoluteMaxFrameBytes)
    } catch {
        violation("\(message.type): second re-encoding failed: \(error)")
    }
    guard second == first else { violation("\(message.type): encode∘decode is not a fixed point") }
    if isCanonical(message) {
        guard first == frame.encoded else { violation("\(message.type): re-encoding differs from the input frame") }
        fuzzFigures.canonicalChecked += 1
    }
}

/// Prints the figures at exit (libFuzzer calls exit() after -runs inputs).
func printFigures() {
    let f = fuzzFigures
    func codes(_ counts: [UInt16: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\(ErrorCode(rawValue: $0.key).map { "\($0)" } ?? "\($0.key)") \($0.value)" }
            .joined(separator: ", ")
    }
    let types = f.messages.sorted { $0.key < $1.key }
        .map { "\(MessageType(rawValue: $0.key).map { "\($0)" } ?? "0x\(String($0.key, radix: 16))") \($0.value)" }
    print("""
        protocol-fuzzer figures: inputs \(f.inputs), frames split \(f.frames), decoded \(f.decoded), \
        re-encoded byte-identical \(f.canonicalChecked), message types decoded \(f.messages.count)/\(MessageType.allCases.count)
          framing errors: \(codes(f.framingErrors))
          decode errors: \(codes(f.decodeErrors))
          decoded by type: \(types.joined(separator: ", "))
        """)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func protocolFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    if !fuzzFigures.reporting {
        fuzzFigures.reporting = true
        atexit { printFigures() }
    }
    fuzzFigures.inputs += 1
    guard let data, size > 0 else { return 0 }
    let config = data[0]
    let limits = limits(profile: config)
    let chunk = [0, 1, 2, 3, 7, 16, 64, 255][Int((config >> 2) & 7)]
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)

    let reference = referenceSplit(stream, maxFrameBytes: limits.maxFrameBytes)
    let split = chunkedSplit(stream, maxFrameBytes: limits.maxFrameBytes, chunk: chunk)
    guard split == reference else {
        violation("splitter (chunks of \(chunk)) gave \(split.frames.count) frames, \(split.end); reference \(reference.frames.count), \(reference.end)")
    }
    if case .framingError(let code) = split.end { fuzzFigures.framingErrors[code.rawValue, default: 0] += 1 }
    for frame in split.frames { check(frame, limits: limits) }
    return 0
}

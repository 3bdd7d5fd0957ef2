/// The store keeps one checkpoint blob per session. The daemon fills it with the worker's
/// checkpoint (opaque to the daemon; what `putCheckpoint` sent, with its chunk sequence and
/// token count) and the daemon's own retrieval state for the session at that moment
/// (density histories and chunk pools — ActQKV's `SelectionState` encoding, opaque bytes of the
/// retrieval engine), so a worker that attaches later continues exactly where the last one stopped.
///
/// Layout (little-endian): magic `"KVCS"` | `u16` version (1) | `u64` chunk sequence |
/// `u64` token count | `u32` worker length | worker bytes | `u32` state length | state bytes.
/// Nothing may follow.
struct CheckpointSlot: Sendable, Equatable {
    static let magic: [UInt8] = Array("KVCS".utf8)
    static let version: UInt16 = 1
    /// Bytes of the head that holds the chunk sequence (magic, version, sequence).
    static let headBytes = 14

    /// The chunk sequence of a slot from its first ``headBytes`` bytes, without reading the
    /// rest (a checkpoint may be tens of MiB); nil when the head is not a slot's.
    static func chunkSequence(head: [UInt8]) -> UInt64? {
        guard head.count >= headBytes, Array(head[0..<4]) == magic, UInt16(head[4]) | UInt16(head[5]) << 8 == version else {
            return nil
        }
        return head[6..<14].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// Sequence number of the next execution chunk after the checkpoint.
    var chunkSequence: UInt64
    /// Tokens of the sequence processed at the checkpoint.
    var tokenCount: UInt64
    /// What the worker stored with `putCheckpoint`.
    var worker: [UInt8]
    /// The daemon's retrieval state for the session; empty when there is none.
    var retrievalState: [UInt8]

    init(chunkSequence: UInt64, tokenCount: UInt64, worker: [UInt8], retrievalState: [UInt8]) {
        self.chunkSequence = chunkSequence
        self.tokenCount = tokenCount
        self.worker = worker
        self.retrievalState = retrievalState
    }

    /// The encoded slot.
    var encoded: [UInt8] {
        var out = Self.magic
        out.reserveCapacity(30 + worker.count + retrievalState.count)
        Self.append(Self.version, to: &out)
        Self.append(chunkSequence, to: &out)
        Self.append(tokenCount, to: &out)
        Self.append(UInt32(worker.count), to: &out)
        out += worker
        Self.append(UInt32(retrievalState.count), to: &out)
        out += retrievalState
        return out
    }

    /// Decodes a slot; nil when `bytes` is not a well-formed slot.
    init?(decoding bytes: [UInt8]) {
        var offset = 0
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, bytes.count - offset >= n else { return nil }
            defer { offset += n }
            return bytes[offset..<offset + n]
        }
        func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
            take(MemoryLayout<T>.size).map { s in s.reversed().reduce(T(0)) { $0 << 8 | T($1) } }
        }
        guard let magic = take(4), Array(magic) == Self.magic,
              integer(UInt16.self) == Self.version,
              let sequence = integer(UInt64.self),
              let tokens = integer(UInt64.self),
              let workerLength = integer(UInt32.self),
              let worker = take(Int(workerLength)),
              let stateLength = integer(UInt32.self),
              let state = take(Int(stateLength)),
              offset == bytes.count
        else { return nil }
        self.init(chunkSequence: sequence, tokenCount: tokens, worker: Array(worker), retrievalState: Array(state))
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}

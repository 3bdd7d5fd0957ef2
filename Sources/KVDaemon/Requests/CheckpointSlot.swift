import CoreTypes

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
        var r = ByteReader(head[...], failure: TruncatedBytes.self)
        guard let magic = try? r.slice(count: 4), Array(magic) == Self.magic,
              (try? r.u16()) == version
        else { return nil }
        return try? r.u64()
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
        var w = ByteWriter(reservingCapacity: 30 + worker.count + retrievalState.count)
        w.raw(Self.magic)
        w.u16(Self.version)
        w.u64(chunkSequence)
        w.u64(tokenCount)
        w.u32(UInt32(worker.count))
        w.raw(worker)
        w.u32(UInt32(retrievalState.count))
        w.raw(retrievalState)
        return w.bytes
    }

    /// Decodes a slot; nil when `bytes` is not a well-formed slot.
    init?(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes[...], failure: TruncatedBytes.self)
        guard let magic = try? r.slice(count: 4), Array(magic) == Self.magic,
              (try? r.u16()) == Self.version,
              let sequence = try? r.u64(),
              let tokens = try? r.u64(),
              let workerLength = try? r.u32(),
              let worker = try? r.slice(count: Int(workerLength)),
              let stateLength = try? r.u32(),
              let state = try? r.slice(count: Int(stateLength)),
              r.remaining == 0
        else { return nil }
        self.init(chunkSequence: sequence, tokenCount: tokens, worker: Array(worker), retrievalState: Array(state))
    }
}

/// The store keeps one checkpoint blob per session. The daemon fills it with two parts: the
/// worker's checkpoint (opaque to the daemon; what `putCheckpoint` sent) and the daemon's own
/// retrieval state for the session (activation statistics, density histories, chunk pools —
/// opaque bytes produced by the retrieval engine), so a worker that attaches later continues
/// exactly where the last one stopped.
///
/// Layout (little-endian): magic `"KVCS"` | `u16` version (1) | `u32` worker length | worker
/// bytes | `u32` state length | state bytes. Nothing may follow.
struct CheckpointSlot: Sendable, Equatable {
    static let magic: [UInt8] = Array("KVCS".utf8)
    static let version: UInt16 = 1

    /// What the worker stored with `putCheckpoint`; nil when it never did.
    var worker: [UInt8]?
    /// The daemon's retrieval state for the session; empty when there is none.
    var retrievalState: [UInt8]

    init(worker: [UInt8]?, retrievalState: [UInt8]) {
        self.worker = worker
        self.retrievalState = retrievalState
    }

    /// The encoded slot. A missing worker checkpoint is encoded with length `UInt32.max`.
    var encoded: [UInt8] {
        var out = Self.magic
        out.reserveCapacity(14 + (worker?.count ?? 0) + retrievalState.count)
        Self.append(Self.version, to: &out)
        if let worker {
            Self.append(UInt32(worker.count), to: &out)
            out += worker
        } else {
            Self.append(UInt32.max, to: &out)
        }
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
        func u32() -> UInt32? {
            take(4).map { s in s.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        }
        guard let magic = take(4), Array(magic) == Self.magic,
              let v = take(2), UInt16(v[v.startIndex]) | UInt16(v[v.startIndex + 1]) << 8 == Self.version,
              let workerLength = u32()
        else { return nil }
        if workerLength == UInt32.max {
            worker = nil
        } else {
            guard let w = take(Int(workerLength)) else { return nil }
            worker = Array(w)
        }
        guard let stateLength = u32(), let s = take(Int(stateLength)), offset == bytes.count else { return nil }
        retrievalState = Array(s)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}

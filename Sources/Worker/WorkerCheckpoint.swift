import ActQKV

/// The worker's half of a session checkpoint (PROTOCOL.md §6.4 `workerState`, opaque to kvd),
/// taken at an execution-chunk boundary after every appended block was acknowledged:
///
/// ```
/// "AQWK" | version u16 (=1) | method u8 | fingerprint u64
/// tokenCount u64 | tokens i32 × tokenCount | chunkSequence u64 | hasher high u64, low u64
/// hasSpan u8 [| lower u64 | upper u64]
/// layers u32 | per layer: hasQuestion u8 [| D u32 | f32 × D] | spanRows u32 | f32 × rows (rotated span queries)
/// retrievalState bytes32 (RetrievalState.encoded(): the worker's activation statistics)
/// per layer: bytes32 (LayerMemory.encoded(): sink, remainder, window, local scores)
/// extra bytes32 (the caller's: e.g. prompt length and generated tokens)
/// crc32 u32 of everything before
/// ```
/// All integers little-endian. Decoding checks every length against the bytes left.
struct WorkerCheckpoint: Sendable, Equatable {
    static let magic: [UInt8] = Array("AQWK".utf8)
    static let version: UInt16 = 1

    var method: UInt8
    var fingerprint: UInt64
    var tokens: [Int32]
    var chunkSequence: UInt64
    var hasher: PrefixHasher
    var questionSpan: Range<Int>?
    var questionVectors: [[Float]?]
    var spanRotated: [[Float]]
    var retrieval: [UInt8]
    var layers: [[UInt8]]
    var extra: [UInt8]

    func encoded() -> [UInt8] {
        var w = CheckpointWriter()
        w.bytes(Self.magic); w.u16(Self.version); w.u8(method); w.u64(fingerprint)
        w.u64(UInt64(tokens.count)); for t in tokens { w.u32(UInt32(bitPattern: t)) }
        w.u64(chunkSequence); w.u64(hasher.high); w.u64(hasher.low)
        if let s = questionSpan { w.u8(1); w.u64(UInt64(s.lowerBound)); w.u64(UInt64(s.upperBound)) } else { w.u8(0) }
        w.u32(UInt32(layers.count))
        for l in 0..<layers.count {
            if let u = questionVectors[l] { w.u8(1); w.u32(UInt32(u.count)); for v in u { w.u32(v.bitPattern) } } else { w.u8(0) }
            w.u32(UInt32(spanRotated[l].count)); for v in spanRotated[l] { w.u32(v.bitPattern) }
        }
        w.blob(retrieval)
        for l in layers { w.blob(l) }
        w.blob(extra)
        w.u32(CRC32.checksum(w.buffer))
        return w.buffer
    }

    init(method: UInt8, fingerprint: UInt64, tokens: [Int32], chunkSequence: UInt64, hasher: PrefixHasher, questionSpan: Range<Int>?,
         questionVectors: [[Float]?], spanRotated: [[Float]], retrieval: [UInt8], layers: [[UInt8]], extra: [UInt8]) {
        self.method = method; self.fingerprint = fingerprint; self.tokens = tokens; self.chunkSequence = chunkSequence
        self.hasher = hasher; self.questionSpan = questionSpan; self.questionVectors = questionVectors
        self.spanRotated = spanRotated; self.retrieval = retrieval; self.layers = layers; self.extra = extra
    }

    init(decoding bytes: [UInt8]) throws(LongContextError) {
        guard bytes.count >= 10 else { throw .checkpointMismatch("worker state of \(bytes.count) bytes is truncated") }
        var r = CheckpointReader(bytes: bytes, end: bytes.count - 4)
        let crc = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8 | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        guard CRC32.checksum(bytes[..<(bytes.count - 4)]) == crc else { throw .checkpointMismatch("worker state checksum mismatch") }
        guard try r.bytes(4) == Self.magic else { throw .checkpointMismatch("not a worker checkpoint (bad magic)") }
        let version = try r.u16()
        guard version == Self.version else { throw .checkpointMismatch("worker checkpoint version \(version) (this build reads \(Self.version))") }
        method = try r.u8(); fingerprint = try r.u64()
        let n = try r.count(try r.u64(), each: 4)
        var toks = [Int32](); toks.reserveCapacity(n)
        for _ in 0..<n { toks.append(Int32(bitPattern: try r.u32())) }
        tokens = toks
        chunkSequence = try r.u64()
        let hh = try r.u64(), hl = try r.u64()
        hasher = PrefixHasher(high: hh, low: hl)
        if try r.u8() == 1 {
            let lo = try r.u64(), hi = try r.u64()
            guard lo <= hi, hi <= UInt64(n) else { throw .checkpointMismatch("question span outside the tokens") }
            questionSpan = Int(lo)..<Int(hi)
        } else { questionSpan = nil }
        let layerCount = try r.count(UInt64(try r.u32()), each: 9)
        var qv: [[Float]?] = [], sr: [[Float]] = []
        for _ in 0..<layerCount {
            if try r.u8() == 1 { qv.append(try r.floats(try r.count(UInt64(try r.u32()), each: 4))) } else { qv.append(nil) }
            sr.append(try r.floats(try r.count(UInt64(try r.u32()), each: 4)))
        }
        questionVectors = qv; spanRotated = sr
        retrieval = try r.blob()
        var ls: [[UInt8]] = []
        for _ in 0..<layerCount { ls.append(try r.blob()) }
        layers = ls
        extra = try r.blob()
        guard r.offset == r.end else { throw .checkpointMismatch("\(r.end - r.offset) trailing bytes in the worker state") }
    }
}

struct CheckpointWriter {
    var buffer: [UInt8] = []
    mutating func u8(_ v: UInt8) { buffer.append(v) }
    mutating func u16(_ v: UInt16) { buffer.append(UInt8(v & 0xFF)); buffer.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func bytes(_ b: [UInt8]) { buffer.append(contentsOf: b) }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); buffer.append(contentsOf: b) }
}

struct CheckpointReader {
    let bytes: [UInt8]
    let end: Int
    var offset = 0
    init(bytes: [UInt8], end: Int) { self.bytes = bytes; self.end = end }

    mutating func bytes(_ n: Int) throws(LongContextError) -> [UInt8] {
        guard n >= 0, end - offset >= n else { throw .checkpointMismatch("worker state truncated") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }
    mutating func u8() throws(LongContextError) -> UInt8 { try bytes(1)[0] }
    mutating func u16() throws(LongContextError) -> UInt16 { let b = try bytes(2); return UInt16(b[0]) | UInt16(b[1]) << 8 }
    mutating func u32() throws(LongContextError) -> UInt32 {
        guard end - offset >= 4 else { throw .checkpointMismatch("worker state truncated") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }
    mutating func u64() throws(LongContextError) -> UInt64 { let lo = UInt64(try u32()); return lo | UInt64(try u32()) << 32 }
    /// A count of items of `each` bytes, checked against the bytes left.
    func count(_ n: UInt64, each: Int) throws(LongContextError) -> Int {
        guard n <= UInt64(end - offset) / UInt64(max(each, 1)) else { throw .checkpointMismatch("count \(n) exceeds the worker state") }
        return Int(n)
    }
    mutating func floats(_ n: Int) throws(LongContextError) -> [Float] {
        var out = [Float](); out.reserveCapacity(n)
        for _ in 0..<n { out.append(Float(bitPattern: try u32())) }
        return out
    }
    mutating func blob() throws(LongContextError) -> [UInt8] { try bytes(try count(UInt64(try u32()), each: 1)) }
}


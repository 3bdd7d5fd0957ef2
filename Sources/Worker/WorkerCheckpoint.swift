import ActQKV
import CoreTypes

/// The worker's half of a session checkpoint (PROTOCOL.md §6.4 `workerState`, opaque to kvd),
/// taken at an execution-chunk boundary after every appended block was acknowledged:
///
/// ```
/// "AQWK" | version u16 (=3) | method u8 | fingerprint u64
/// tokenCount u64 | tokens i32 × tokenCount | chunkSequence u64 | hasher high u64, low u64
/// hasSpan u8 [| lower u64 | upper u64]
/// layers u32 | per layer: hasQuestion u8 [| D u32 | f32 × D] | spanRows u32 | f32 × rows (rotated span queries)
/// probeState bytes32 (ProbeState.encoded(): the worker's activation statistics)
/// per layer: bytes32 (LayerMemory.encoded(): sink, remainder, window, local scores)
/// windows u32 | per sliding-window layer: bytes32 (SlidingWindowCache.encoded())
/// extra bytes32 (the caller's: e.g. prompt length and generated tokens)
/// crc32 u32 of everything before
/// ```
/// "layers" are the memory layers (the model's global layers, all of them for Llama), the
/// sliding-window layers' windows follow in model-layer order. All integers little-endian.
/// Decoding checks every length against the bytes left. Version 2 has no `windows` field (it
/// reads as none); version 1 (two releases back) also has the whole retrieval state ("AQRS") in
/// place of the probe state, and `ProbeState(decoding:)` keeps its activation statistics.
struct WorkerCheckpoint: Sendable, Equatable {
    static let magic: [UInt8] = Array("AQWK".utf8)
    /// The version this build writes.
    static let version: UInt16 = 3
    /// The versions this build reads.
    static let readableVersions: ClosedRange<UInt16> = 1...3

    var method: UInt8
    var fingerprint: UInt64
    var tokens: [Int32]
    var chunkSequence: UInt64
    var hasher: PrefixHasher
    var questionSpan: Range<Int>?
    var questionVectors: [[Float]?]
    var spanRotated: [[Float]]
    /// `ProbeState.encoded()` (version 1: a whole "AQRS" retrieval state).
    var probe: [UInt8]
    var layers: [[UInt8]]
    /// `SlidingWindowCache.encoded()` of each sliding-window layer, in model-layer order.
    var windows: [[UInt8]]
    var extra: [UInt8]

    func encoded() -> [UInt8] {
        var w = ByteWriter(reservingCapacity: 1024)
        w.raw(Self.magic); w.u16(Self.version); w.u8(method); w.u64(fingerprint)
        w.u64(UInt64(tokens.count)); for t in tokens { w.u32(UInt32(bitPattern: t)) }
        w.u64(chunkSequence); w.u64(hasher.high); w.u64(hasher.low)
        if let s = questionSpan { w.u8(1); w.u64(UInt64(s.lowerBound)); w.u64(UInt64(s.upperBound)) } else { w.u8(0) }
        w.u32(UInt32(layers.count))
        for l in 0..<layers.count {
            if let u = questionVectors[l] { w.u8(1); w.u32(UInt32(u.count)); w.floats(u) } else { w.u8(0) }
            w.u32(UInt32(spanRotated[l].count)); w.floats(spanRotated[l])
        }
        w.blob(probe)
        for l in layers { w.blob(l) }
        w.u32(UInt32(windows.count))
        for b in windows { w.blob(b) }
        w.blob(extra)
        w.u32(CRC32.checksum(w.bytes))
        return w.bytes
    }

    init(method: UInt8, fingerprint: UInt64, tokens: [Int32], chunkSequence: UInt64, hasher: PrefixHasher, questionSpan: Range<Int>?,
         questionVectors: [[Float]?], spanRotated: [[Float]], probe: [UInt8], layers: [[UInt8]], windows: [[UInt8]], extra: [UInt8]) {
        self.method = method; self.fingerprint = fingerprint; self.tokens = tokens; self.chunkSequence = chunkSequence
        self.hasher = hasher; self.questionSpan = questionSpan; self.questionVectors = questionVectors
        self.spanRotated = spanRotated; self.probe = probe; self.layers = layers; self.windows = windows; self.extra = extra
    }

    /// Decodes a checkpoint of version 1, 2 or 3.
    /// - Throws: ``StateDecodingError`` (ActQKV's: truncated, bad magic, unknown version,
    ///   checksum, trailing bytes, impossible field) — never traps on any input.
    init(decoding bytes: [UInt8]) throws(StateDecodingError) {
        typealias Reader = ByteReader<ArraySlice<UInt8>, StateDecodingError>
        var head = Reader(bytes[...])
        guard Array(try head.slice(count: 4, "magic")) == Self.magic else { throw .badMagic }
        let version = try head.u16("version")
        guard Self.readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        guard bytes.count >= 10 else { throw .truncated(needed: 10 - head.index, remaining: bytes.count - head.index) }
        let crc = bytes.count - 4
        let stored = UInt32(bytes[crc]) | UInt32(bytes[crc + 1]) << 8 | UInt32(bytes[crc + 2]) << 16 | UInt32(bytes[crc + 3]) << 24
        let computed = CRC32.checksum(bytes[..<crc])
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        var r = Reader(bytes[..<crc])
        _ = try r.take(6, "magic and version")
        method = try r.u8("method"); fingerprint = try r.u64("fingerprint")
        let n = try r.count(try r.u64("token count"), each: 4)
        var toks = [Int32](); toks.reserveCapacity(n)
        for _ in 0..<n { toks.append(Int32(bitPattern: try r.u32("token"))) }
        tokens = toks
        chunkSequence = try r.u64("chunk sequence")
        let hh = try r.u64("hasher"), hl = try r.u64("hasher")
        hasher = PrefixHasher(high: hh, low: hl)
        if try r.u8("question span") == 1 {
            let lo = try r.u64("question span"), hi = try r.u64("question span")
            guard lo <= hi, hi <= UInt64(n) else { throw .invalidField("question span outside the tokens") }
            questionSpan = Int(lo)..<Int(hi)
        } else { questionSpan = nil }
        let layerCount = try r.count(UInt64(try r.u32("layers")), each: 9)
        var qv: [[Float]?] = [], sr: [[Float]] = []
        for _ in 0..<layerCount {
            if try r.u8("question vector") == 1 { qv.append(try r.floats(count: Int(try r.u32("question vector")), "question vector")) } else { qv.append(nil) }
            sr.append(try r.floats(count: Int(try r.u32("span queries")), "span queries"))
        }
        questionVectors = qv; spanRotated = sr
        probe = try r.blob("probe state")
        var ls: [[UInt8]] = []
        for _ in 0..<layerCount { ls.append(try r.blob("layer memory")) }
        layers = ls
        var ws: [[UInt8]] = []
        if version >= 3 {
            let count = try r.count(UInt64(try r.u32("windows")), each: 4)
            for _ in 0..<count { ws.append(try r.blob("sliding window")) }
        }
        windows = ws
        extra = try r.blob("extra")
        guard r.remaining == 0 else { throw .trailingBytes(count: r.remaining) }
    }
}

extension ByteWriter {
    /// `count u32 | bytes`.
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); raw(b) }
}

extension ByteReader where Failure == StateDecodingError {
    /// A count of items of `each` bytes, checked against the bytes left.
    func count(_ n: UInt64, each: Int) throws(StateDecodingError) -> Int {
        guard n <= UInt64(remaining) / UInt64(max(each, 1)) else {
            let (needed, overflow) = Int(clamping: n).multipliedReportingOverflow(by: max(each, 1))
            throw .truncated(needed: overflow ? Int.max : needed, remaining: remaining)
        }
        return Int(n)
    }

    /// `count u32 | bytes`.
    mutating func blob(_ what: StaticString) throws(StateDecodingError) -> [UInt8] {
        Array(try slice(count: Int(try u32(what)), what))
    }
}

import CoreTypes

/// Stable, versioned binary encoding of ``RetrievalState`` (little-endian):
///
/// ```
/// "AQRS" | version u16 (=1) | flags u16 (=0)
/// config: S W E b K r K_min K_max history warmup horizon (i64 each) | varianceFloor λ (f32 bits)
///         | C (i64) | scope u8 | warmupUnit u8
/// layers u32
/// statistics count u32 (1 if shared, L if perLayer), each: calls u64 | tokens u64 | D u32 | μ[D] f32 | σ²[D] f32
/// histories (L of them), each: count u32 | ρ[count] f32 (oldest first)
/// pools count u32, each: chunk u64 | remaining i64   (ascending chunk)
/// crc32 u32 of every preceding byte
/// ```
/// Encoding a decoded state reproduces the bytes exactly.
extension RetrievalState {
    /// The format version this build writes and reads.
    public static let encodingVersion: UInt16 = 1
    static let magic: [UInt8] = Array("AQRS".utf8)
    /// Largest D accepted by the decoder.
    static let maxWidth = 1 << 20

    /// The encoding described above.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Self.magic); w.u16(Self.encodingVersion); w.u16(0)
        w.config(config)
        w.u32(UInt32(layers))
        w.u32(UInt32(statistics.count))
        for s in statistics {
            w.u64(s.calls); w.u64(s.tokens); w.u32(UInt32(s.width))
            for v in s.mean { w.f32(v) }
            for v in s.variance { w.f32(v) }
        }
        for h in histories { w.u32(UInt32(h.values.count)); for v in h.values { w.f32(v) } }
        w.u32(UInt32(pools.count))
        for key in pools.keys.sorted() { w.u64(key); w.i64(pools[key]!) }
        w.u32(CRC32.checksum(w.buffer[...]))
        return w.buffer
    }

    /// Decodes and validates an encoding.
    /// - Throws: ``StateDecodingError`` for truncated, corrupted, or inconsistent bytes.
    public init(decoding bytes: [UInt8]) throws(StateDecodingError) {
        var r = try ByteReader(checked: bytes, magic: Self.magic, version: Self.encodingVersion)
        let config = try r.config()
        let scope = config.statisticsScope
        let layers = Int(try r.u32())
        guard layers >= 1, layers <= ModelDescriptor.maxLayers else { throw .invalidField("layers") }
        let statCount = Int(try r.u32())
        guard statCount == (scope == .shared ? 1 : layers) else { throw .invalidField("statistics count") }
        var statistics: [ActivationStatistics] = []
        for _ in 0..<statCount {
            let calls = try r.u64(), tokens = try r.u64(), width = Int(try r.u32())
            guard width <= Self.maxWidth, (width == 0) == (calls == 0), tokens >= calls else { throw .invalidField("statistics") }
            let mean = try r.f32s(width), variance = try r.f32s(width)
            statistics.append(ActivationStatistics(calls: calls, tokens: tokens, mean: mean, variance: variance))
        }
        var histories: [DensityHistory] = []
        for _ in 0..<layers {
            let n = Int(try r.u32())
            guard n <= config.historyLength else { throw .invalidField("history count") }
            histories.append(DensityHistory(capacity: config.historyLength, values: try r.f32s(n)))
        }
        let poolCount = Int(try r.u32())
        var pools: [UInt64: Int] = [:]
        var previous: UInt64? = nil
        for _ in 0..<poolCount {
            let key = try r.u64(), value = try r.i64()
            if let p = previous, key <= p { throw .invalidField("pool order") }
            previous = key
            pools[key] = value
        }
        guard r.offset == r.end else { throw .trailingBytes(count: r.end - r.offset) }
        self.init(config: config, layers: layers, statistics: statistics, histories: histories, pools: pools)
    }
}

/// Little-endian byte appender.
struct ByteWriter {
    var buffer: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { buffer += b }
    mutating func u8(_ v: UInt8) { buffer.append(v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i64(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

/// Little-endian byte reader with bounds checks that throw ``StateDecodingError/truncated(offset:needed:)``.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    var end: Int
    init(bytes: [UInt8]) { self.bytes = bytes; end = bytes.count }
    mutating func take(_ n: Int) throws(StateDecodingError) -> Int {
        guard n >= 0, end - offset >= n else { throw .truncated(offset: offset, needed: n - max(end - offset, 0)) }
        defer { offset += n }
        return offset
    }
    mutating func bytes(_ n: Int) throws(StateDecodingError) -> [UInt8] { let o = try take(n); return Array(bytes[o..<(o + n)]) }
    mutating func u8() throws(StateDecodingError) -> UInt8 { bytes[try take(1)] }
    mutating func uint(_ n: Int) throws(StateDecodingError) -> UInt64 {
        let o = try take(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[o + i]) << (8 * UInt64(i)) }
        return v
    }
    mutating func u16() throws(StateDecodingError) -> UInt16 { UInt16(try uint(2)) }
    mutating func u32() throws(StateDecodingError) -> UInt32 { UInt32(try uint(4)) }
    mutating func u64() throws(StateDecodingError) -> UInt64 { try uint(8) }
    mutating func i64() throws(StateDecodingError) -> Int {
        let v = Int64(bitPattern: try uint(8))
        guard let i = Int(exactly: v) else { throw .invalidField("integer") }
        return i
    }
    mutating func f32() throws(StateDecodingError) -> Float { Float(bitPattern: try u32()) }
    mutating func f32s(_ n: Int) throws(StateDecodingError) -> [Float] {
        guard n <= (end - offset) / 4 else { throw .truncated(offset: offset, needed: 4 * n - (end - offset)) }
        var out = [Float](); out.reserveCapacity(n)
        for _ in 0..<n { out.append(try f32()) }
        return out
    }
}

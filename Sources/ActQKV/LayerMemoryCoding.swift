import CoreTypes

/// Stable, versioned binary checkpoint of a ``LayerMemory`` (little-endian), so that a worker can
/// resume a session at a chunk boundary:
///
/// ```
/// "AQLM" | version u16 (=1) | flags u16 (=0)
/// H u32 | H_kv u32 | d u32 | method u8
/// config (as in RetrievalState's encoding: 11 × i64, 2 × f32, i64, u8, u8)
/// position i64 | sinkCount i64 | closedBlocks i64 | recentStart i64
/// sink K, sink V: sinkCount·H_kv·d f32 each
/// recent K, recent V: (position − recentStart)·H_kv·d f32 each | recent scores: (position − recentStart)·H f32
/// crc32 u32 of every preceding byte
/// ```
/// The rotary embedding is a property of the model and is passed again when decoding.
extension LayerMemory {
    /// The format version this build writes and reads.
    public static let encodingVersion: UInt16 = 1
    static let magic: [UInt8] = Array("AQLM".utf8)

    /// The checkpoint described above.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Self.magic); w.u16(Self.encodingVersion); w.u16(0)
        w.u32(UInt32(shape.heads)); w.u32(UInt32(shape.kvHeads)); w.u32(UInt32(shape.headDim)); w.u8(method.rawValue)
        w.config(config)
        for v in [position, sinkCount, closedBlocks, recentStart] { w.i64(v) }
        for array in [sinkKeys, sinkValues, recentKeys, recentValues, recentScores] { for v in array { w.f32(v) } }
        w.u32(CRC32.checksum(w.buffer[...]))
        return w.buffer
    }

    /// Restores a checkpoint.
    /// - Throws: ``StateDecodingError`` for truncated, corrupted or inconsistent bytes.
    public init(decoding bytes: [UInt8], rope: RotaryEmbedding) throws(StateDecodingError) {
        var r = try ByteReader(checked: bytes, magic: Self.magic, version: Self.encodingVersion)
        let h = Int(try r.u32()), kv = Int(try r.u32()), d = Int(try r.u32())
        let shape: AttentionShape
        do { shape = try AttentionShape(heads: h, kvHeads: kv, headDim: d) } catch { throw .invalidField("shape") }
        guard let method = RetrievalMethod(rawValue: try r.u8()) else { throw .invalidField("method") }
        let config = try r.config()
        guard rope.headDim == d else { throw .invalidField("rope head dimension") }
        let position = try r.i64(), sinkCount = try r.i64(), closed = try r.i64(), recentStart = try r.i64()
        guard position >= 0, sinkCount >= 0, sinkCount <= config.sinkTokens, closed >= 0,
              recentStart == sinkCount + closed * config.blockSize, recentStart <= position,
              method != .dense || (sinkCount == 0 && closed == 0) else { throw .invalidField("token counts") }
        let recent = position - recentStart
        guard recent <= (r.end - r.offset) / 4, sinkCount <= (r.end - r.offset) / 4 else { throw .truncated(offset: r.offset, needed: 4 * recent) }
        self.init(shape: shape, config: config, method: method, rope: rope)
        self.position = position; self.sinkCount = sinkCount; self.closedBlocks = closed; self.recentStart = recentStart
        sinkKeys = try r.f32s(sinkCount * shape.kvWidth)
        sinkValues = try r.f32s(sinkCount * shape.kvWidth)
        recentKeys = try r.f32s(recent * shape.kvWidth)
        recentValues = try r.f32s(recent * shape.kvWidth)
        recentScores = try r.f32s(recent * shape.heads)
        guard r.offset == r.end else { throw .trailingBytes(count: r.end - r.offset) }
    }
}

extension ByteWriter {
    /// Appends a configuration (the layout used by every ActQKV encoding).
    mutating func config(_ c: RetrievalConfig) {
        for v in [c.sinkTokens, c.localWindow, c.chunkTokens, c.blockSize, c.topK, c.representativeTokens, c.minBlocks,
                  c.maxBlocks, c.historyLength, c.statisticsWarmup, c.statisticsHorizon] { i64(v) }
        f32(c.varianceFloorFraction); f32(c.questionWeight); i64(c.blockCacheCapacity)
        u8(c.statisticsScope.rawValue); u8(c.warmupUnit.rawValue)
    }
}

extension ByteReader {
    /// Checks magic, version and the CRC-32 trailer, then positions after the flags.
    init(checked bytes: [UInt8], magic: [UInt8], version expected: UInt16) throws(StateDecodingError) {
        self.init(bytes: bytes)
        guard try self.bytes(4) == magic else { throw .badMagic }
        let version = try u16()
        guard version == expected else { throw .unsupportedVersion(version) }
        guard bytes.count >= 12 else { throw .truncated(offset: bytes.count, needed: 12 - bytes.count) }
        let stored = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8
            | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        let computed = CRC32.checksum(bytes[..<(bytes.count - 4)])
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        end = bytes.count - 4
        guard try u16() == 0 else { throw .invalidField("flags") }
    }

    /// Reads and validates a configuration.
    mutating func config() throws(StateDecodingError) -> RetrievalConfig {
        var ints: [Int] = []
        for _ in 0..<11 { ints.append(try i64()) }
        let floor = try f32(), lambda = try f32(), capacity = try i64()
        guard let scope = StatisticsScope(rawValue: try u8()) else { throw .invalidField("statisticsScope") }
        guard let unit = WarmupUnit(rawValue: try u8()) else { throw .invalidField("warmupUnit") }
        let config = RetrievalConfig(
            sinkTokens: ints[0], localWindow: ints[1], chunkTokens: ints[2], blockSize: ints[3], topK: ints[4],
            representativeTokens: ints[5], minBlocks: ints[6], maxBlocks: ints[7], historyLength: ints[8],
            statisticsWarmup: ints[9], statisticsHorizon: ints[10], varianceFloorFraction: floor, questionWeight: lambda,
            blockCacheCapacity: capacity, statisticsScope: scope, warmupUnit: unit)
        do { try config.validate() } catch { throw .invalidConfig(error) }
        return config
    }
}

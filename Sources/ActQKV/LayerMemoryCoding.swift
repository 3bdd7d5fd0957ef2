import CoreTypes

/// Stable, versioned binary checkpoint of a ``LayerMemory`` (little-endian, framed as every ActQKV
/// encoding, ``StateFormat``), so that a worker can resume a session at a chunk boundary:
///
/// ```
/// "AQLM" | version u16 (=1) | flags u16 (=0)
/// H u32 | H_kv u32 | d u32 | method u8
/// config (as in ProbeState's encoding: 11 × i64, 2 × f32, i64, u8, u8)
/// position i64 | sinkCount i64 | closedBlocks i64 | recentStart i64
/// sink K, sink V: sinkCount·H_kv·d f32 each
/// recent K, recent V: (position − recentStart)·H_kv·d f32 each | recent scores: (position − recentStart)·H f32
/// crc32 u32 of every preceding byte
/// ```
/// The rotary embedding is a property of the model and is passed again when decoding.
extension LayerMemory {
    /// The format version this build writes and reads.
    public static var encodingVersion: UInt16 { StateFormat.layerMemory.version }

    /// The checkpoint described above.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(format: .layerMemory)
        w.u32(UInt32(shape.heads)); w.u32(UInt32(shape.kvHeads)); w.u32(UInt32(shape.headDim)); w.u8(method.rawValue)
        w.config(config)
        for v in [position, sinkCount, closedBlocks, recentStart] { w.int64(v) }
        for array in [sinkKeys, sinkValues, recentKeys, recentValues, recentScores] { w.floats(array) }
        return w.sealed()
    }

    /// Restores a checkpoint.
    /// - Throws: ``StateDecodingError`` for truncated, corrupted or inconsistent bytes.
    public init(decoding bytes: [UInt8], rope: RotaryEmbedding) throws(StateDecodingError) {
        var (_, r) = try StateFormat.open(bytes, accepting: [.layerMemory])
        let h = Int(try r.u32("shape")), kv = Int(try r.u32("shape")), d = Int(try r.u32("shape"))
        let shape: AttentionShape
        do { shape = try AttentionShape(heads: h, kvHeads: kv, headDim: d) } catch { throw .invalidField("shape") }
        guard let method = RetrievalMethod(rawValue: try r.u8("method")) else { throw .invalidField("method") }
        let config = try r.config()
        guard rope.headDim == d else { throw .invalidField("rope head dimension") }
        let position = try r.int64("counts"), sinkCount = try r.int64("counts"), closed = try r.int64("counts"), recentStart = try r.int64("counts")
        guard position >= 0, sinkCount >= 0, sinkCount <= config.sinkTokens, closed >= 0,
              recentStart == sinkCount + closed * config.blockSize, recentStart <= position,
              method != .dense || (sinkCount == 0 && closed == 0) else { throw .invalidField("token counts") }
        let recent = position - recentStart
        guard recent <= r.remaining / 4, sinkCount <= r.remaining / 4 else { throw .truncated(needed: 4 * max(recent, sinkCount), remaining: r.remaining) }
        self.init(shape: shape, config: config, method: method, rope: rope)
        self.position = position; self.sinkCount = sinkCount; self.closedBlocks = closed; self.recentStart = recentStart
        sinkKeys = try r.floats(count: sinkCount * shape.kvWidth, "sink keys")
        sinkValues = try r.floats(count: sinkCount * shape.kvWidth, "sink values")
        recentKeys = try r.floats(count: recent * shape.kvWidth, "recent keys")
        recentValues = try r.floats(count: recent * shape.kvWidth, "recent values")
        recentScores = try r.floats(count: recent * shape.heads, "recent scores")
        try r.end()
    }
}

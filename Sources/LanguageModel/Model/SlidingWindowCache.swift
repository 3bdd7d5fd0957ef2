import CoreTypes

/// The keys and values one sliding-window layer (``LayerAttention/sliding(window:)``) still
/// needs: at most the last `window − 1` tokens before the next chunk, whatever the sequence
/// length. Used by ``DenseAttentionCache`` for its sliding-window layers and by the long-context
/// worker, whose sliding-window layers never need kvd.
///
/// Storage: K (rotated) and V, `[kvHead][capacity][d]` Float32 each, capacity ≈ 2·window + the
/// largest chunk; new tokens are appended and, when the buffer is full, the last `window − 1`
/// move to the front (amortised O(1) per token). Not thread-safe.
public final class SlidingWindowCache {
    /// Tokens a query sees, itself included.
    public let window: Int
    /// Position after the last token attended (the next chunk starts here).
    public private(set) var position: Int
    private let config: ModelConfig
    private let rope: RotaryEmbedding
    private var capacity: Int
    /// Tokens in the buffer: positions `position − held ..< position`.
    private var held = 0
    private var keys: UnsafeMutablePointer<Float>
    private var values: UnsafeMutablePointer<Float>
    private let attention = CausalAttention()

    /// An empty window for a layer of `config` attending within `window` tokens, rotating with `rope`.
    public init(config: ModelConfig, window: Int, rope: RotaryEmbedding, position: Int = 0) {
        precondition(window > 0 && position >= 0)
        self.config = config
        self.window = window
        self.rope = rope
        self.position = position
        capacity = 2 * window + CausalAttention.queryBlock
        let count = config.kvHeadCount * capacity * config.headDimension
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes of K/V storage held.
    public var storageBytes: Int { 2 * config.kvHeadCount * capacity * config.headDimension * 4 }

    /// Attention of a chunk of `n` tokens at positions ``position`` ..< position + n (queries,
    /// keys and values un-rotated, rows of H·d, H_kv·d and H_kv·d floats) into `output` (n × H·d),
    /// then keeps the keys and values later chunks can still see.
    public func attend(queries: UnsafePointer<Float>, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                       tokenCount n: Int, output: UnsafeMutablePointer<Float>) {
        guard n > 0 else { return }
        let d = config.headDimension, hkv = config.kvHeadCount, kvWidth = config.kvWidth
        makeRoom(for: n)
        for t in 0..<n {
            for g in 0..<hkv {
                let dst = (g * capacity + held + t) * d
                (keys + dst).update(from: newKeys + t * kvWidth + g * d, count: d)
                rope.rotate(keys + dst, heads: 1, position: position + t)
                (values + dst).update(from: newValues + t * kvWidth + g * d, count: d)
            }
        }
        attention.attend(config: config, rope: rope, queries: queries, rows: n, start: position, window: window,
                         keys: keys, values: values, headStride: capacity * d, keyOffset: position - held, output: output)
        held += n
        position += n
    }

    /// Drops all but the last `window − 1` tokens when `n` more would not fit, growing the buffer
    /// if even that is not enough.
    private func makeRoom(for n: Int) {
        guard held + n > capacity else { return }
        let keep = min(held, window - 1), d = config.headDimension, hkv = config.kvHeadCount
        if keep + n > capacity {
            let grown = keep + n + window
            let k = UnsafeMutablePointer<Float>.allocate(capacity: hkv * grown * d)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: hkv * grown * d)
            for g in 0..<hkv {
                (k + g * grown * d).update(from: keys + (g * capacity + held - keep) * d, count: keep * d)
                (v + g * grown * d).update(from: values + (g * capacity + held - keep) * d, count: keep * d)
            }
            keys.deallocate(); values.deallocate()
            keys = k; values = v; capacity = grown
        } else {
            for g in 0..<hkv {
                (keys + g * capacity * d).update(from: keys + (g * capacity + held - keep) * d, count: keep * d)
                (values + g * capacity * d).update(from: values + (g * capacity + held - keep) * d, count: keep * d)
            }
        }
        held = keep
    }

    /// The state later chunks depend on, for checkpoints:
    /// `window u32 | position u64 | tokens u32 | K f32 × (H_kv · tokens · d) | V likewise`
    /// (little-endian; tokens = min(held, window − 1), the last ones).
    public func encoded() -> [UInt8] {
        let keep = min(held, window - 1), d = config.headDimension, hkv = config.kvHeadCount
        var w = ByteWriter(reservingCapacity: 16 + 2 * hkv * keep * d * 4)
        w.u32(UInt32(window)); w.u64(UInt64(position)); w.u32(UInt32(keep))
        for store in [keys, values] {
            for g in 0..<hkv { w.floats(UnsafeBufferPointer(start: store + (g * capacity + held - keep) * d, count: keep * d)) }
        }
        return w.bytes
    }

    /// Restores a window from ``encoded()``.
    /// - Throws: ``ModelError/invalidState(_:)`` when the bytes are truncated, have trailing
    ///   bytes or describe another window length or more tokens than it keeps.
    public convenience init(decoding bytes: [UInt8], config: ModelConfig, rope: RotaryEmbedding) throws(ModelError) {
        var r = ByteReader(bytes[...], failure: TruncatedBytes.self)
        let d = config.headDimension, hkv = config.kvHeadCount
        let window: Int, position: UInt64, keep: Int
        do throws(TruncatedBytes) {
            window = Int(try r.u32("window")); position = try r.u64("position"); keep = Int(try r.u32("tokens"))
        } catch { throw .invalidState("sliding window state of \(bytes.count) bytes is truncated") }
        guard window > 0, keep <= window - 1, position <= UInt64(Int.max), keep <= Int(position) else {
            throw .invalidState("sliding window of \(window) tokens holding \(keep) at position \(position)")
        }
        guard r.remaining == 2 * hkv * keep * d * 4 else {
            throw .invalidState("sliding window state of \(bytes.count) bytes for \(keep) tokens of \(hkv)×\(d) floats")
        }
        self.init(config: config, window: window, rope: rope, position: Int(position))
        for store in [keys, values] {
            for g in 0..<hkv {
                let floats = (try? r.floats(count: keep * d, "window")) ?? []  // length checked above
                (store + g * capacity * d).update(from: floats, count: keep * d)
            }
        }
        held = keep
    }
}

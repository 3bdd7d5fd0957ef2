import CBLAS
import CInferenceKernels

/// Full causal attention with every key and value of the sequence kept in memory: the dense
/// baseline and the quality reference of the project. A sliding-window layer
/// (``LayerAttention/sliding(window:)``) keeps only its window (``SlidingWindowCache``).
///
/// Storage per global layer: K (rotated when stored) and V, laid out `[kvHead][capacity][d]`
/// Float32, i.e. `2 · globalLayers · kvHeadCount · capacity · headDimension · 4` bytes in total,
/// allocated up front. Queries are processed in blocks of 128 rows through `cblas_sgemm`, each
/// block against only the keys it can see (causal).
public final class DenseAttentionCache: AttentionBackend {
    /// Maximum sequence length in tokens.
    public let capacity: Int
    /// Tokens processed so far.
    public private(set) var position: Int = 0

    private let config: ModelConfig
    private let ropes: [RotaryEmbedding]
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    private let attention = CausalAttention()
    /// Index of each layer's storage among the global layers (nil: a sliding-window layer).
    private let storageIndex: [Int?]
    /// The sliding-window layers' caches (nil: a global layer).
    private let windows: [SlidingWindowCache?]

    /// Allocates a cache for `capacity` tokens of a model with `config`, rotating layer ℓ with
    /// `ropes[ℓ]`.
    public init(config: ModelConfig, ropes: [RotaryEmbedding], capacity: Int) {
        precondition(capacity > 0 && ropes.count == config.layerCount)
        self.config = config
        self.ropes = ropes
        self.capacity = capacity
        var next = 0
        storageIndex = config.layerAttention.map { kind in
            guard kind == .global else { return nil }
            defer { next += 1 }
            return next
        }
        windows = config.layerAttention.indices.map { l in
            config.layerAttention[l].window.map { SlidingWindowCache(config: config, window: $0, rope: ropes[l]) }
        }
        let count = max(1, config.globalLayers.count * config.kvHeadCount * capacity * config.headDimension)
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
        keys.initialize(repeating: 0, count: count)
        values.initialize(repeating: 0, count: count)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes of K/V storage held by this cache.
    public var storageBytes: Int {
        2 * config.globalLayers.count * config.kvHeadCount * capacity * config.headDimension * 4
            + windows.reduce(0) { $0 + ($1?.storageBytes ?? 0) }
    }

    public func advance(by tokenCount: Int) { position += tokenCount }

    public func attend(
        layer: Int, queries: UnsafePointer<Float>, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
        tokenCount n: Int, output: UnsafeMutablePointer<Float>
    ) throws(ModelError) {
        guard n > 0 else { return }
        let start = position
        guard start + n <= capacity else { throw .contextOverflow(requested: start + n, capacity: capacity) }
        let d = config.headDimension, hkv = config.kvHeadCount
        let kvWidth = hkv * d
        if let window = windows[layer] {
            precondition(window.position == start, "a chunk was skipped or repeated")
            window.attend(queries: queries, keys: newKeys, values: newValues, tokenCount: n, output: output)
            return
        }
        let layerBase = storageIndex[layer]! * hkv * capacity * d
        let rope = ropes[layer], window = capacity

        // Store K (rotated at its absolute position) and V.
        for t in 0..<n {
            for g in 0..<hkv {
                let dst = layerBase + (g * capacity + start + t) * d
                (keys + dst).update(from: newKeys + t * kvWidth + g * d, count: d)
                rope.rotate(keys + dst, heads: 1, position: start + t)
                (values + dst).update(from: newValues + t * kvWidth + g * d, count: d)
            }
        }

        attention.attend(config: config, rope: rope, queries: queries, rows: n, start: start, window: window,
                         keys: keys + layerBase, values: values + layerBase, headStride: capacity * d, keyOffset: 0, output: output)
    }
}

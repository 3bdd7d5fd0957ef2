import CoreTypes

/// The worker's retrieval state of one session: the activation statistics (one set, or one per
/// layer) that weight a chunk's queries into its probe-query (docs/ACTQKV.md). Only the worker
/// holds it, and it persists it in its checkpoint (``encoded()`` / ``init(decoding:)``); kvd's
/// half is ``SelectionState``. A resumed session continues identically. Nothing here depends on
/// any other session.
public struct ProbeState: Sendable, Hashable {
    /// The validated configuration.
    public let config: RetrievalConfig
    /// L: number of layers of the model.
    public let layers: Int
    /// Activation statistics: one entry (scope `shared`) or `layers` entries (`perLayer`).
    public internal(set) var statistics: [ActivationStatistics]

    /// A fresh state.
    /// - Throws: the configuration's ``ConfigError``, or `.notPositive(.layers, …)` if `layers < 1`.
    public init(config: RetrievalConfig, layers: Int) throws(ConfigError) {
        try config.validate()
        guard layers >= 1 else { throw .notPositive(.layers, value: layers) }
        guard layers <= ModelDescriptor.maxLayers else { throw .tooLarge(.layers, value: layers, limit: ModelDescriptor.maxLayers) }
        self.config = config
        self.layers = layers
        statistics = Array(repeating: ActivationStatistics(), count: config.statisticsScope == .shared ? 1 : layers)
    }

    init(config: RetrievalConfig, layers: Int, statistics: [ActivationStatistics]) {
        self.config = config; self.layers = layers; self.statistics = statistics
    }

    /// The probe-query of one chunk and the token weights that built it.
    public struct Probe: Sendable, Hashable {
        /// p = Σ_t w_t·Q̃_t, D floats.
        public var vector: [Float]
        /// w_t, one per query token of the chunk; Σ w = 1.
        public var weights: [Float]
    }

    /// Builds the probe-query of `layer` for one chunk of `count` rotated queries (each row = the
    /// token's queries of all H heads rotated at position W−1, concatenated head-major; row-major
    /// `count × D`, D = `queries.count / count`). Methods with activation bias (`actqkv`,
    /// `actqkvReference`, `activateOnly`) fold the chunk into the statistics and weight tokens by their bias; the
    /// others use the mean (uniform weights) and leave the statistics untouched.
    public mutating func probe(layer: Int, method: RetrievalMethod, queries: UnsafeBufferPointer<Float>, count: Int) throws(SelectionError) -> Probe {
        guard (0..<layers).contains(layer) else { throw .layerOutOfRange(layer: layer, layers: layers) }
        guard count >= 1, queries.count >= count, queries.count % count == 0 else {
            throw count >= 1 ? .queriesSizeMismatch(expected: count, actual: queries.count) : .emptyProbe
        }
        let d = queries.count / count
        let weights: [Float]
        if method.usesActivationBias {
            let s = config.statisticsScope == .shared ? 0 : layer
            weights = try statistics[s].update(queries: queries, count: count, width: d, config: config)
        } else {
            weights = [Float](repeating: 1 / Float(count), count: count)
        }
        var p = [Float](repeating: 0, count: d)
        p.withUnsafeMutableBufferPointer { pb in
            for t in 0..<count { VectorKernels.axpy(weights[t], queries.baseAddress! + t * d, pb.baseAddress!, count: d) }
        }
        return Probe(vector: p, weights: weights)
    }
}

/// Stable, versioned binary encoding of ``ProbeState`` (little-endian, framed as every ActQKV
/// encoding, ``StateFormat``):
///
/// ```
/// "AQPS" | version u16 (=1) | flags u16 (=0)
/// config: S W E b K r K_min K_max history warmup horizon (i64 each) | varianceFloor λ (f32 bits)
///         | C (i64) | scope u8 | warmupUnit u8
/// layers u32
/// statistics count u32 (1 if shared, L if perLayer), each: calls u64 | tokens u64 | D u32 | μ[D] f32 | σ²[D] f32
/// crc32 u32 of every preceding byte
/// ```
/// Encoding a decoded state reproduces the bytes exactly. The decoder also reads the previous
/// release's combined "AQRS" version 1 (``LegacyRetrievalState``) and keeps its statistics.
extension ProbeState {
    /// The format version this build writes.
    public static var encodingVersion: UInt16 { StateFormat.probeState.version }

    /// The encoding described above.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(format: .probeState)
        w.config(config)
        w.u32(UInt32(layers))
        w.statistics(statistics)
        return w.sealed()
    }

    /// Decodes and validates an encoding, or migrates an "AQRS" version 1 one.
    /// - Throws: ``StateDecodingError`` for truncated, corrupted, inconsistent or unknown bytes.
    public init(decoding bytes: [UInt8]) throws(StateDecodingError) {
        var (format, r) = try StateFormat.open(bytes, accepting: [.probeState, .legacyRetrievalState])
        if format == .legacyRetrievalState {
            let legacy = try LegacyRetrievalState(body: &r)
            self.init(config: legacy.config, layers: legacy.layers, statistics: legacy.statistics)
            return
        }
        let config = try r.config()
        let layers = try r.layers()
        let statistics = try r.statistics(scope: config.statisticsScope, layers: layers)
        try r.end()
        self.init(config: config, layers: layers, statistics: statistics)
    }
}

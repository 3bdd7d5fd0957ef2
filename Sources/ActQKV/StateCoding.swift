import CoreTypes

/// Why an encoded ``ProbeState``, ``SelectionState`` or ``LayerMemory`` was rejected. ``code`` is
/// stable.
public enum StateDecodingError: Error, Sendable, Hashable {
    /// The bytes end before the structure does: a field of `needed` bytes met `remaining`.
    case truncated(needed: Int, remaining: Int)
    /// The first four bytes are not the encoding's magic.
    case badMagic
    /// An encoding version this build does not read.
    case unsupportedVersion(UInt16)
    /// The CRC-32 trailer does not match the content (corruption).
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// Bytes remain after the structure.
    case trailingBytes(count: Int)
    /// The encoded configuration is invalid.
    case invalidConfig(ConfigError)
    /// A field holds an impossible value (unknown enum raw value, inconsistent count, …).
    case invalidField(String)

    /// Stable numeric code (3xx range of the ActQKV module).
    public var code: UInt16 {
        switch self {
        case .truncated: 301
        case .badMagic: 302
        case .unsupportedVersion: 303
        case .checksumMismatch: 304
        case .trailingBytes: 305
        case .invalidConfig: 306
        case .invalidField: 307
        }
    }
}

extension StateDecodingError: ByteReaderFailure {
    /// A read past the end of the bytes (CoreTypes' ``ByteReader``).
    public static func truncated(_ what: StaticString, at offset: Int, needed: Int, remaining: Int) -> StateDecodingError {
        .truncated(needed: needed, remaining: remaining)
    }
}

/// One of ActQKV's encodings: its magic and the version of its layout. Every one is framed alike
/// (little-endian):
///
/// ```
/// magic[4] | version u16 | flags u16 (=0) | body | crc32 u32 of every preceding byte
/// ```
struct StateFormat: Equatable {
    let magic: [UInt8]
    let version: UInt16

    /// ``ProbeState``, version 1 (body in `ProbeState.swift`).
    static let probeState = StateFormat(magic: Array("AQPS".utf8), version: 1)
    /// ``SelectionState``, version 1 (body in `SelectionState.swift`).
    static let selectionState = StateFormat(magic: Array("AQSS".utf8), version: 1)
    /// ``LayerMemory``, version 1 (body in `LayerMemoryCoding.swift`).
    static let layerMemory = StateFormat(magic: Array("AQLM".utf8), version: 1)
    /// The previous release's combined retrieval state, read only (``LegacyRetrievalState``).
    static let legacyRetrievalState = StateFormat(magic: Array("AQRS".utf8), version: 1)

    typealias Reader = ByteReader<ArraySlice<UInt8>, StateDecodingError>

    /// Checks the framing of `bytes` against `formats` — magic, then version, then the CRC-32
    /// trailer, then the flags — and returns the format found and a reader over the body.
    static func open(_ bytes: [UInt8], accepting formats: [StateFormat]) throws(StateDecodingError) -> (StateFormat, Reader) {
        var head = Reader(bytes[...])
        let magic = Array(try head.slice(count: 4, "magic"))
        let candidates = formats.filter { $0.magic == magic }
        guard !candidates.isEmpty else { throw .badMagic }
        let version = try head.u16("version")
        guard let format = candidates.first(where: { $0.version == version }) else { throw .unsupportedVersion(version) }
        guard bytes.count >= 12 else { throw .truncated(needed: 12 - head.index, remaining: bytes.count - head.index) }
        let crc = bytes.count - 4
        let stored = UInt32(bytes[crc]) | UInt32(bytes[crc + 1]) << 8 | UInt32(bytes[crc + 2]) << 16 | UInt32(bytes[crc + 3]) << 24
        let computed = CRC32.checksum(bytes[..<crc])
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        var body = Reader(bytes[..<crc])
        _ = try body.take(6, "magic and version")
        guard try body.u16("flags") == 0 else { throw .invalidField("flags") }
        return (format, body)
    }
}

extension ByteWriter {
    /// A writer holding the framing's head of `format` (flags 0).
    init(format: StateFormat) {
        self.init(reservingCapacity: 256)
        raw(format.magic); u16(format.version); u16(0)
    }

    /// Appends the CRC-32 trailer and returns the finished encoding.
    mutating func sealed() -> [UInt8] {
        u32(CRC32.checksum(bytes[...]))
        return bytes
    }

    /// A signed integer as its 64-bit two's complement.
    mutating func int64(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }

    /// Appends a configuration (the layout used by every ActQKV encoding):
    /// `S W E b K r K_min K_max history warmup horizon (i64 each) | varianceFloor λ (f32) | C (i64)
    /// | scope u8 | warmupUnit u8`.
    mutating func config(_ c: RetrievalConfig) {
        for v in [c.sinkTokens, c.localWindow, c.chunkTokens, c.blockSize, c.topK, c.representativeTokens, c.minBlocks,
                  c.maxBlocks, c.historyLength, c.statisticsWarmup, c.statisticsHorizon] { int64(v) }
        f32(c.varianceFloorFraction); f32(c.questionWeight); int64(c.blockCacheCapacity)
        u8(c.statisticsScope.rawValue); u8(c.warmupUnit.rawValue)
    }

    /// `statistics count u32, each: calls u64 | tokens u64 | D u32 | μ[D] f32 | σ²[D] f32`.
    mutating func statistics(_ statistics: [ActivationStatistics]) {
        u32(UInt32(statistics.count))
        for s in statistics {
            u64(s.calls); u64(s.tokens); u32(UInt32(s.width))
            floats(s.mean); floats(s.variance)
        }
    }

    /// `histories (one per layer), each: count u32 | ρ[count] f32 (oldest first)`.
    mutating func histories(_ histories: [DensityHistory]) {
        for h in histories { u32(UInt32(h.values.count)); floats(h.values) }
    }

    /// `pools count u32, each: chunk u64 | remaining i64 (ascending chunk)`.
    mutating func pools(_ pools: [UInt64: Int]) {
        u32(UInt32(pools.count))
        for key in pools.keys.sorted() { u64(key); int64(pools[key]!) }
    }
}

extension ByteReader where Failure == StateDecodingError {
    /// Largest D accepted for activation statistics.
    static var maxWidth: Int { 1 << 20 }

    /// A signed 64-bit integer.
    mutating func int64(_ what: StaticString = "i64") throws(StateDecodingError) -> Int {
        Int(Int64(bitPattern: try u64(what)))
    }

    /// Reads and validates a configuration.
    mutating func config() throws(StateDecodingError) -> RetrievalConfig {
        var ints: [Int] = []
        for _ in 0..<11 { ints.append(try int64("config")) }
        let floor = try f32("config"), lambda = try f32("config"), capacity = try int64("config")
        guard let scope = StatisticsScope(rawValue: try u8("config")) else { throw .invalidField("statisticsScope") }
        guard let unit = WarmupUnit(rawValue: try u8("config")) else { throw .invalidField("warmupUnit") }
        let config = RetrievalConfig(
            sinkTokens: ints[0], localWindow: ints[1], chunkTokens: ints[2], blockSize: ints[3], topK: ints[4],
            representativeTokens: ints[5], minBlocks: ints[6], maxBlocks: ints[7], historyLength: ints[8],
            statisticsWarmup: ints[9], statisticsHorizon: ints[10], varianceFloorFraction: floor, questionWeight: lambda,
            blockCacheCapacity: capacity, statisticsScope: scope, warmupUnit: unit)
        do { try config.validate() } catch { throw .invalidConfig(error) }
        return config
    }

    /// The layer count L (1…65,536).
    mutating func layers() throws(StateDecodingError) -> Int {
        let layers = Int(try u32("layers"))
        guard layers >= 1, layers <= ModelDescriptor.maxLayers else { throw .invalidField("layers") }
        return layers
    }

    /// Activation statistics: 1 set (scope `shared`) or `layers` sets.
    mutating func statistics(scope: StatisticsScope, layers: Int) throws(StateDecodingError) -> [ActivationStatistics] {
        let count = Int(try u32("statistics count"))
        guard count == (scope == .shared ? 1 : layers) else { throw .invalidField("statistics count") }
        var statistics: [ActivationStatistics] = []
        for _ in 0..<count {
            let calls = try u64("statistics"), tokens = try u64("statistics"), width = Int(try u32("statistics"))
            guard width <= Self.maxWidth, (width == 0) == (calls == 0), tokens >= calls else { throw .invalidField("statistics") }
            let mean = try floats(count: width, "mean"), variance = try floats(count: width, "variance")
            statistics.append(ActivationStatistics(calls: calls, tokens: tokens, mean: mean, variance: variance))
        }
        return statistics
    }

    /// `layers` density histories of at most `config.historyLength` values each.
    mutating func histories(config: RetrievalConfig, layers: Int) throws(StateDecodingError) -> [DensityHistory] {
        var histories: [DensityHistory] = []
        for _ in 0..<layers {
            let n = Int(try u32("history count"))
            guard n <= config.historyLength else { throw .invalidField("history count") }
            histories.append(DensityHistory(capacity: config.historyLength, values: try floats(count: n, "history")))
        }
        return histories
    }

    /// Chunk pools in strictly ascending chunk order.
    mutating func pools() throws(StateDecodingError) -> [UInt64: Int] {
        let count = Int(try u32("pools count"))
        var pools: [UInt64: Int] = [:]
        var previous: UInt64? = nil
        for _ in 0..<count {
            let key = try u64("pool"), value = try int64("pool")
            if let p = previous, key <= p { throw .invalidField("pool order") }
            previous = key
            pools[key] = value
        }
        return pools
    }

    /// Throws ``StateDecodingError/trailingBytes(count:)`` unless every byte was read.
    func end() throws(StateDecodingError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}

/// The previous release's `RetrievalState` encoding ("AQRS" version 1), which both ends wrote
/// whole: the worker into its checkpoint (`AQWK` version 1), kvd into the checkpoint slot. It is
/// read, never written: ``ProbeState/init(decoding:)`` takes its statistics and
/// ``SelectionState/init(decoding:)`` its histories and pools. Each end only ever changed its own
/// half (the worker never selected, kvd never probed), so the other half is the fresh state and
/// is dropped after validation; the migrated state continues exactly as the old one would have.
///
/// ```
/// "AQRS" | version u16 (=1) | flags u16 (=0)
/// config | layers u32
/// statistics count u32 (1 if shared, L if perLayer), each: calls u64 | tokens u64 | D u32 | μ[D] f32 | σ²[D] f32
/// histories (L of them), each: count u32 | ρ[count] f32 (oldest first)
/// pools count u32, each: chunk u64 | remaining i64   (ascending chunk)
/// crc32 u32 of every preceding byte
/// ```
struct LegacyRetrievalState {
    var config: RetrievalConfig
    var layers: Int
    var statistics: [ActivationStatistics]
    var histories: [DensityHistory]
    var pools: [UInt64: Int]

    /// Reads the body after the framing (``StateFormat/open(_:accepting:)``).
    init(body r: inout StateFormat.Reader) throws(StateDecodingError) {
        config = try r.config()
        layers = try r.layers()
        statistics = try r.statistics(scope: config.statisticsScope, layers: layers)
        histories = try r.histories(config: config, layers: layers)
        pools = try r.pools()
        try r.end()
    }
}

/// The element type of stored K/V values: 16-bit floats, 2 bytes each, little-endian. The raw
/// values are stable (wire, session records, block-id derivation).
public enum ElementType: UInt8, Sendable, Hashable, CaseIterable {
    /// IEEE-754 binary16.
    case fp16 = 1
    /// bfloat16 (the upper half of a Float32).
    case bf16 = 2

    /// Bytes per element (always 2).
    @inlinable
    public var byteCount: Int { 2 }
}

/// The shape of a model's K/V cache, fixed per session: every append, fetch and retrieve of the
/// session is checked against it. The one definition used by the wire (docs/PROTOCOL.md, 19
/// bytes: `layers u16 | queryHeads u16 | kvHeads u16 | headDim u16 | elementType u8 |
/// blockSize u16 | fingerprint u64`), the store (session records, docs/STORAGE.md), the daemon
/// and the worker.
///
/// Invariants of a valid descriptor (``violation``, ``isValid``; one set of limits for every module, each
/// field within its 16-bit wire field):
/// - 1 ≤ `layers` ≤ ``maxLayers`` (4096);
/// - 1 ≤ `kvHeads` ≤ `queryHeads` ≤ ``maxHeads`` (1024), `queryHeads` a multiple of `kvHeads`;
/// - 1 ≤ `headDim` ≤ ``maxHeadDim`` (4096 elements);
/// - 1 ≤ `blockSize` ≤ ``maxBlockSize`` (65,535 tokens);
/// - D = `queryHeads · headDim` ≤ ``maxVectorDimension`` (1,048,576 elements);
/// - ``payloadBytes`` ≤ ``maxPayloadBytes`` (64 MiB).
///
/// A peer's frame size and vector-length limits (Protocol's `ProtocolLimits`) can narrow these
/// further for the wire; they never widen them.
public struct ModelDescriptor: Sendable, Hashable {
    /// Transformer layers L.
    public var layers: Int
    /// Query heads H.
    public var queryHeads: Int
    /// Key/value heads H_kv (grouped-query attention: H is a multiple of H_kv).
    public var kvHeads: Int
    /// Elements per head d.
    public var headDim: Int
    /// Element type of the stored K/V.
    public var elementType: ElementType
    /// Tokens per block b.
    public var blockSize: Int
    /// Fingerprint of the model weights; part of every block's identity, so sessions of
    /// different fingerprints never share blocks.
    public var fingerprint: UInt64

    /// Largest number of layers.
    public static let maxLayers = 4096
    /// Largest number of query heads (and of KV heads).
    public static let maxHeads = 1024
    /// Largest head dimension, in elements.
    public static let maxHeadDim = 4096
    /// Largest block size, in tokens (the wire's `u16`).
    public static let maxBlockSize = Int(UInt16.max)
    /// Largest D = queryHeads · headDim, in elements: 1,048,576.
    public static let maxVectorDimension = 1 << 20
    /// Largest raw block payload (K and V), in bytes: 64 MiB.
    public static let maxPayloadBytes = 64 << 20

    /// Creates a descriptor (not validated; see ``violation``).
    @inlinable
    public init(
        layers: Int, queryHeads: Int, kvHeads: Int, headDim: Int,
        elementType: ElementType, blockSize: Int, fingerprint: UInt64
    ) {
        self.layers = layers
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.elementType = elementType
        self.blockSize = blockSize
        self.fingerprint = fingerprint
    }

    /// D = queryHeads · headDim: the length, in elements, of representative keys, probes and
    /// question vectors.
    @inlinable
    public var vectorDimension: Int { queryHeads * headDim }

    /// Bytes of one of K or V of a block: `[kvHeads][blockSize][headDim]` elements of 2 bytes.
    @inlinable
    public var halfPayloadBytes: Int { kvHeads * blockSize * headDim * elementType.byteCount }

    /// Bytes of a block's raw payload: K then V, 2 · kvHeads · blockSize · headDim · 2.
    @inlinable
    public var payloadBytes: Int { 2 * halfPayloadBytes }

    /// What makes a descriptor invalid: the first invariant it breaks, in the order listed
    /// on ``ModelDescriptor``.
    public enum Violation: Sendable, Hashable {
        /// `layers` is not in 1…``maxLayers``.
        case layers
        /// `queryHeads` is not in 1…``maxHeads``.
        case queryHeads
        /// `kvHeads` is not in 1…``maxHeads``.
        case kvHeads
        /// `queryHeads` is not a multiple of `kvHeads`.
        case headGrouping
        /// `headDim` is not in 1…``maxHeadDim``.
        case headDim
        /// `blockSize` is not in 1…``maxBlockSize``.
        case blockSize
        /// D exceeds ``maxVectorDimension``.
        case vectorDimension
        /// ``payloadBytes`` exceeds ``maxPayloadBytes``.
        case payloadBytes

        /// Whether the descriptor is merely too large (a limit) rather than malformed (a field
        /// out of its domain).
        public var isSizeLimit: Bool { self == .vectorDimension || self == .payloadBytes }
    }

    /// The first invariant this descriptor breaks, or nil when it is valid. Arithmetic cannot
    /// overflow: every product is taken only after its factors were bounded.
    public var violation: Violation? {
        guard (1...Self.maxLayers).contains(layers) else { return .layers }
        guard (1...Self.maxHeads).contains(queryHeads) else { return .queryHeads }
        guard (1...Self.maxHeads).contains(kvHeads) else { return .kvHeads }
        guard queryHeads % kvHeads == 0 else { return .headGrouping }
        guard (1...Self.maxHeadDim).contains(headDim) else { return .headDim }
        guard (1...Self.maxBlockSize).contains(blockSize) else { return .blockSize }
        guard vectorDimension <= Self.maxVectorDimension else { return .vectorDimension }
        guard payloadBytes <= Self.maxPayloadBytes else { return .payloadBytes }
        return nil
    }

    /// Whether every invariant holds.
    public var isValid: Bool { violation == nil }
}

extension ModelDescriptor.Violation: CustomStringConvertible {
    /// The broken invariant in words, with its limits.
    public var description: String {
        switch self {
        case .layers: "layers not in 1…\(ModelDescriptor.maxLayers)"
        case .queryHeads: "queryHeads not in 1…\(ModelDescriptor.maxHeads)"
        case .kvHeads: "kvHeads not in 1…\(ModelDescriptor.maxHeads)"
        case .headGrouping: "queryHeads is not a multiple of kvHeads"
        case .headDim: "headDim not in 1…\(ModelDescriptor.maxHeadDim)"
        case .blockSize: "blockSize not in 1…\(ModelDescriptor.maxBlockSize)"
        case .vectorDimension: "D = queryHeads · headDim exceeds \(ModelDescriptor.maxVectorDimension)"
        case .payloadBytes: "a block's payload exceeds \(ModelDescriptor.maxPayloadBytes) bytes"
        }
    }
}

/// The shape of a model's K/V cache, fixed per session. Every append is checked against the
/// descriptor of its session.
public struct ModelDescriptor: Sendable, Hashable {
    /// Transformer layers (L).
    public var layers: Int
    /// Query heads (H).
    public var queryHeads: Int
    /// Key/value heads (H_kv).
    public var kvHeads: Int
    /// Dimension of one head (d), in elements.
    public var headDim: Int
    /// Element type of stored K/V (2 bytes each).
    public var elementType: ElementType
    /// Tokens per block (b).
    public var blockSize: Int
    /// Fingerprint of the model weights; part of every block's identity.
    public var fingerprint: UInt64

    /// D: floats in a representative key (`queryHeads * headDim`).
    public var keyDimension: Int { queryHeads * headDim }

    /// Bytes of one block's raw payload: K then V, each `[kvHeads][blockSize][headDim]`
    /// 16-bit little-endian elements.
    public var payloadBytes: Int { 2 * kvHeads * blockSize * headDim * 2 }

    /// Memberwise initialiser; no validation here (the store validates on `createSession`).
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

    /// Largest accepted raw block payload: 64 MiB.
    public static let maximumPayloadBytes = 64 << 20

    /// Whether every field is positive, the layer count fits a `UInt32`, and a block is at
    /// most ``maximumPayloadBytes``.
    public var isValid: Bool {
        guard layers > 0, layers <= 65_536, queryHeads > 0, kvHeads > 0, headDim > 0, blockSize > 0
        else { return false }
        let (k1, o1) = kvHeads.multipliedReportingOverflow(by: blockSize)
        let (k2, o2) = k1.multipliedReportingOverflow(by: headDim)
        let (k3, o3) = queryHeads.multipliedReportingOverflow(by: headDim)
        guard !o1, !o2, !o3, k3 <= 1 << 20 else { return false }
        return k2 <= ModelDescriptor.maximumPayloadBytes / 4
    }
}

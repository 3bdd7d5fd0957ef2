import CoreTypes

/// Element type of stored K/V payloads (16-bit floats).
public enum ElementType: UInt8, Sendable, Hashable, CaseIterable {
    /// IEEE-754 binary16.
    case fp16 = 1
    /// bfloat16.
    case bf16 = 2

    /// Bytes per element (always 2).
    public var byteCount: Int { 2 }
}

/// Describes the model whose K/V a session stores. Every write and read is checked against
/// the session's descriptor.
///
/// Wire layout (19 bytes): `layers u16 | queryHeads u16 | kvHeads u16 | headDim u16 |
/// elementType u8 | blockSize u16 | fingerprint u64`.
public struct ModelDescriptor: Sendable, Hashable {
    /// Number of transformer layers L (1…4096).
    public var layers: UInt16
    /// Number of query heads H (1…1024, a multiple of `kvHeads`).
    public var queryHeads: UInt16
    /// Number of KV heads H_kv (1…1024).
    public var kvHeads: UInt16
    /// Elements per head d (1…4096).
    public var headDim: UInt16
    /// Element type of the stored K/V.
    public var elementType: ElementType
    /// Tokens per block b (≥ 1).
    public var blockSize: UInt16
    /// Fingerprint of the model weights; sessions of different fingerprints never share blocks.
    public var fingerprint: UInt64

    /// Wire size in bytes.
    public static let wireBytes = 19

    /// Creates a descriptor (not validated; see ``validate(limits:)``).
    public init(
        layers: UInt16, queryHeads: UInt16, kvHeads: UInt16, headDim: UInt16,
        elementType: ElementType, blockSize: UInt16, fingerprint: UInt64
    ) {
        self.layers = layers
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.elementType = elementType
        self.blockSize = blockSize
        self.fingerprint = fingerprint
    }

    /// Length D = queryHeads · headDim of representative keys, probes and question vectors
    /// (elements).
    public var vectorDimension: Int { Int(queryHeads) * Int(headDim) }

    /// Bytes of one of K or V of a block: kvHeads · blockSize · headDim · 2.
    public var halfPayloadBytes: Int {
        Int(kvHeads) * Int(blockSize) * Int(headDim) * elementType.byteCount
    }

    /// Bytes of a block's payload (K then V): 2 · kvHeads · blockSize · headDim · 2.
    public var payloadBytes: Int { 2 * halfPayloadBytes }

    /// Checks the documented domains; throws ``ErrorCode/badArgument`` when a field is out of
    /// range and ``ErrorCode/limitExceeded`` when D or a block does not fit the limits.
    public func validate(limits: ProtocolLimits = .default) throws(ProtocolError) {
        func bad(_ s: String) -> ProtocolError { ProtocolError(.badArgument, "model descriptor: " + s) }
        guard (1...ProtocolLimits.maxLayers).contains(layers) else { throw bad("layers \(layers) not in 1…\(ProtocolLimits.maxLayers)") }
        guard (1...ProtocolLimits.maxHeads).contains(queryHeads) else { throw bad("queryHeads \(queryHeads) not in 1…\(ProtocolLimits.maxHeads)") }
        guard (1...ProtocolLimits.maxHeads).contains(kvHeads) else { throw bad("kvHeads \(kvHeads) not in 1…\(ProtocolLimits.maxHeads)") }
        guard queryHeads % kvHeads == 0 else { throw bad("queryHeads \(queryHeads) is not a multiple of kvHeads \(kvHeads)") }
        guard (1...ProtocolLimits.maxHeadDim).contains(headDim) else { throw bad("headDim \(headDim) not in 1…\(ProtocolLimits.maxHeadDim)") }
        guard blockSize >= 1 else { throw bad("blockSize must be ≥ 1") }
        guard vectorDimension <= Int(limits.maxVectorDimension) else {
            throw ProtocolError(.limitExceeded, "model descriptor: D = \(vectorDimension) exceeds \(limits.maxVectorDimension)")
        }
        // One block (header, key, payload) must fit in a frame.
        guard payloadBytes + 4 * vectorDimension + 256 <= Int(limits.maxFrameBytes) else {
            throw ProtocolError(.limitExceeded, "model descriptor: a block of \(payloadBytes) bytes does not fit in a frame")
        }
    }

    func encode(into w: inout ByteWriter) {
        w.u16(layers)
        w.u16(queryHeads)
        w.u16(kvHeads)
        w.u16(headDim)
        w.u8(elementType.rawValue)
        w.u16(blockSize)
        w.u64(fingerprint)
    }

    static func decode(from r: inout WireReader) throws(ProtocolError) -> ModelDescriptor {
        let layers = try r.u16("descriptor.layers")
        let queryHeads = try r.u16("descriptor.queryHeads")
        let kvHeads = try r.u16("descriptor.kvHeads")
        let headDim = try r.u16("descriptor.headDim")
        let rawType = try r.u8("descriptor.elementType")
        let blockSize = try r.u16("descriptor.blockSize")
        let fingerprint = try r.u64("descriptor.fingerprint")
        guard let elementType = ElementType(rawValue: rawType) else {
            throw ProtocolError(.badArgument, "model descriptor: unknown element type \(rawType)")
        }
        return ModelDescriptor(
            layers: layers, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim,
            elementType: elementType, blockSize: blockSize, fingerprint: fingerprint)
    }
}

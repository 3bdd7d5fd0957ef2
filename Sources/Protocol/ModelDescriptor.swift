import CoreTypes

// The wire's side of CoreTypes' `ModelDescriptor`: its 19-byte layout and its check against a
// peer's limits.
//
// Wire layout (19 bytes): `layers u16 | queryHeads u16 | kvHeads u16 | headDim u16 |
// elementType u8 | blockSize u16 | fingerprint u64`.
extension ModelDescriptor {
    /// Wire size in bytes.
    public static let wireBytes = 19

    /// Checks the descriptor's invariants (``ModelDescriptor/violation``) and that it fits
    /// `limits`: throws ``ErrorCode/badArgument`` when a field is out of its domain and
    /// ``ErrorCode/limitExceeded`` when D is over `limits.maxVectorDimension` or a block does not
    /// fit a frame of `limits.maxFrameBytes`. A descriptor within those but over the
    /// descriptor's own size limits (D ≤ 2^20, 64 MiB blocks; only reachable with limits above
    /// the defaults) is ``ErrorCode/badArgument``, as the store has always answered it.
    public func validate(limits: ProtocolLimits = .default) throws(ProtocolError) {
        let violation = self.violation
        if let violation, !violation.isSizeLimit {
            throw ProtocolError(.badArgument, message(violation))
        }
        guard vectorDimension <= Int(limits.maxVectorDimension) else {
            throw ProtocolError(.limitExceeded, "model descriptor: D = \(vectorDimension) exceeds \(limits.maxVectorDimension)")
        }
        // One block (header, key, payload) must fit in a frame.
        guard payloadBytes + 4 * vectorDimension + 256 <= Int(limits.maxFrameBytes) else {
            throw ProtocolError(.limitExceeded, "model descriptor: a block of \(payloadBytes) bytes does not fit in a frame")
        }
        if let violation { throw ProtocolError(.badArgument, message(violation)) }
    }

    /// The text of a broken invariant, with the offending value.
    private func message(_ violation: Violation) -> String {
        let value: Int
        switch violation {
        case .layers: value = layers
        case .queryHeads, .headGrouping: value = queryHeads
        case .kvHeads: value = kvHeads
        case .headDim: value = headDim
        case .blockSize: value = blockSize
        case .vectorDimension: value = vectorDimension
        case .payloadBytes: value = payloadBytes
        }
        return "model descriptor: \(violation) (got \(value))"
    }

    /// Encodes the 19 bytes. A field beyond its `u16` is sent as 65,535 (never valid for
    /// `layers`, the heads and `headDim`); senders validate first.
    func encode(into w: inout ByteWriter) {
        w.u16(UInt16(clamping: layers))
        w.u16(UInt16(clamping: queryHeads))
        w.u16(UInt16(clamping: kvHeads))
        w.u16(UInt16(clamping: headDim))
        w.u8(elementType.rawValue)
        w.u16(UInt16(clamping: blockSize))
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
            layers: Int(layers), queryHeads: Int(queryHeads), kvHeads: Int(kvHeads), headDim: Int(headDim),
            elementType: elementType, blockSize: Int(blockSize), fingerprint: fingerprint)
    }
}

/// Converts GGML-encoded tensor bytes to Float32.
///
/// All kernels work on contiguous runs of whole blocks, write into caller-provided memory and
/// allocate nothing. Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K.
public enum GGUFDequantizer {
    /// Dequantises `elementCount` elements of `type` starting at `source` into `destination`.
    ///
    /// - Parameters:
    ///   - source: the encoded bytes; must hold `type.rowBytes(elements: elementCount)` bytes.
    ///     No alignment is required.
    ///   - elementCount: a multiple of `type.blockSize`.
    ///   - destination: room for `elementCount` floats.
    /// - Throws: ``GGUFError/unsupportedDequantization(_:)`` for a type without a kernel,
    ///   ``GGUFError/invalidTensorData(tensor:reason:)`` if `elementCount` is not whole blocks.
    public static func dequantize(
        _ type: GGMLType, from source: UnsafeRawPointer, elementCount: Int,
        into destination: UnsafeMutablePointer<Float>
    ) throws(GGUFError) {
        guard elementCount >= 0, elementCount % type.blockSize == 0 else {
            throw .invalidTensorData(tensor: "", reason: "\(elementCount) elements is not whole \(type) blocks")
        }
        let blocks = elementCount / type.blockSize
        switch type {
        case .f32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: elementCount * 4)
        case .f16: dequantizeF16(source, count: elementCount, into: destination)
        case .bf16: dequantizeBF16(source, count: elementCount, into: destination)
        case .q8_0: dequantizeQ8_0(source, blocks: blocks, into: destination)
        case .q4_0: dequantizeQ4_0(source, blocks: blocks, into: destination)
        case .q4_1: dequantizeQ4_1(source, blocks: blocks, into: destination)
        case .q5_0: dequantizeQ5_0(source, blocks: blocks, into: destination)
        case .q5_1: dequantizeQ5_1(source, blocks: blocks, into: destination)
        case .q4_K: dequantizeQ4_K(source, blocks: blocks, into: destination)
        case .q6_K: dequantizeQ6_K(source, blocks: blocks, into: destination)
        default: throw .unsupportedDequantization(type)
        }
    }
}

extension GGUFFile {
    /// Dequantises rows `rows` of `tensor` (a row is `ne0` = `dimensions[0]` elements; a tensor
    /// with dimensions `[ne0, ne1, …]` has `elementCount / ne0` rows) into `into`, row after row.
    ///
    /// - Throws: ``GGUFError/tensorNotFound(_:)`` if `tensor` is not from this file,
    ///   ``GGUFError/rowRangeOutOfBounds(tensor:lower:upper:rowCount:)``,
    ///   ``GGUFError/bufferTooSmall(needed:available:)`` if `into` has fewer than
    ///   `rows.count * ne0` elements, ``GGUFError/unsupportedDequantization(_:)``.
    public func dequantizeRows(
        _ tensor: GGUFTensorInfo, rows: Range<Int>, into: UnsafeMutableBufferPointer<Float>
    ) throws(GGUFError) {
        guard tensors[tensor.name] == tensor else { throw .tensorNotFound(tensor.name) }
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount else {
            throw .rowRangeOutOfBounds(
                tensor: tensor.name, lower: rows.lowerBound, upper: rows.upperBound, rowCount: tensor.rowCount)
        }
        guard tensor.type.isDequantizable else { throw .unsupportedDequantization(tensor.type) }
        let needed = rows.count * tensor.rowLength
        guard into.count >= needed else { throw .bufferTooSmall(needed: needed, available: into.count) }
        guard needed > 0, let destination = into.baseAddress else { return }
        let source = data(of: tensor).baseAddress! + rows.lowerBound * tensor.rowByteCount
        try GGUFDequantizer.dequantize(tensor.type, from: source, elementCount: needed, into: destination)
    }

    /// Dequantises the whole tensor into a new array of `tensor.elementCount` floats, in file
    /// order (`ne0` fastest).
    public func dequantize(_ tensor: GGUFTensorInfo) throws(GGUFError) -> [Float] {
        var out = [Float](repeating: 0, count: tensor.elementCount)
        var failure: GGUFError?
        out.withUnsafeMutableBufferPointer { buffer in
            do throws(GGUFError) {
                try dequantizeRows(tensor, rows: 0..<tensor.rowCount, into: buffer)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Dequantises the tensor called `name`. See ``dequantize(_:)``.
    public func dequantize(named name: String) throws(GGUFError) -> [Float] {
        try dequantize(tensor(named: name))
    }
}

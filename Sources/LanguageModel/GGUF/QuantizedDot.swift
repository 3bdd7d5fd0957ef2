import CoreTypes

/// Dot products of GGML-encoded rows with a Float32 vector, computed directly on the encoded
/// blocks (no dequantised copy of the matrix). For single-token decoding: a matrix-vector
/// product reads each weight byte once.
///
/// Supported row types: F32, F16, Q8_0, Q4_0, Q4_1 (``isSupported(_:)``). Results are Float32
/// sums in a different order than a sequential loop; against a Float64 dequantise-then-dot the
/// relative error is a few ulps times √(row length) of Σ|w·x| (tests check 1e-5 of Σ|w·x|).
public enum QuantizedDot {
    /// Whether ``dot(_:row:_:count:)`` supports `type`.
    public static func isSupported(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .q8_0, .q4_0, .q4_1: true
        default: false
        }
    }

    /// Σ row[i] · x[i] over `count` elements.
    ///
    /// - Parameters:
    ///   - row: encoded bytes of one row, `type.rowBytes(elements: count)` bytes, any alignment.
    ///   - x: `count` floats.
    ///   - count: a multiple of `type.blockSize`.
    /// - Throws: ``GGUFError/unsupportedDequantization(_:)`` for an unsupported type,
    ///   ``GGUFError/invalidTensorData(tensor:reason:)`` if `count` is not whole blocks.
    public static func dot(_ type: GGMLType, row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) throws(GGUFError) -> Float {
        guard count >= 0, count % type.blockSize == 0 else {
            throw .invalidTensorData(tensor: "", reason: "\(count) elements is not whole \(type) blocks")
        }
        switch type {
        case .q8_0: return q8_0(row: row, x, blocks: count / 32)
        case .q4_1: return q4_1(row: row, x, blocks: count / 32)
        case .q4_0: return q4_0(row: row, x, blocks: count / 32)
        case .f32: return f32(row: row, x, count: count)
        case .f16: return f16(row: row, x, count: count)
        default: throw .unsupportedDequantization(type)
        }
    }

    /// Q8_0 row (`blocks` blocks of 34 bytes) · x (32 · `blocks` floats).
    public static func q8_0(row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let block = row + 34 * b
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let xs = UnsafeRawPointer(x + 32 * b)
            var partial = SIMD8<Float>()
            for c in 0..<4 {
                let q = SIMD8<Float>(block.loadUnaligned(fromByteOffset: 2 + 8 * c, as: SIMD8<Int8>.self))
                partial += q * xs.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self)
            }
            acc += SIMD8(repeating: d) * partial
        }
        return acc.sum()
    }

    /// Q4_1 row (`blocks` blocks of 20 bytes) · x: Σ (d·q + m)·x = d·Σ q·x + m·Σ x per block.
    public static func q4_1(row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<blocks {
            let block = row + 20 * b
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let m = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let packed = block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            let low = SIMD16<Float>(packed & 0x0F)
            let high = SIMD16<Float>(packed &>> 4)
            let xs = UnsafeRawPointer(x + 32 * b)
            let x0 = xs.loadUnaligned(as: SIMD16<Float>.self)
            let x1 = xs.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            var qx = low * x0
            qx += high * x1
            acc += SIMD16(repeating: d) * qx
            acc += SIMD16(repeating: m) * (x0 + x1)
        }
        return acc.sum()
    }

    /// Q4_0 row (`blocks` blocks of 18 bytes) · x: Σ d·(q − 8)·x = d·(Σ q·x − 8·Σ x) per block.
    public static func q4_0(row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0..<blocks {
            let block = row + 18 * b
            let d = HalfFloat.float(fromFP16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            let packed = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
            let low = SIMD16<Float>(packed & 0x0F) - 8
            let high = SIMD16<Float>(packed &>> 4) - 8
            let xs = UnsafeRawPointer(x + 32 * b)
            var qx = low * xs.loadUnaligned(as: SIMD16<Float>.self)
            qx += high * xs.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            acc += SIMD16(repeating: d) * qx
        }
        return acc.sum()
    }

    /// F32 row · x.
    public static func f32(row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        let xs = UnsafeRawPointer(x)
        var i = 0
        while i + 8 <= count {
            acc += row.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * xs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        var tail: Float = 0
        while i < count {
            tail += row.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) * x[i]
            i += 1
        }
        return acc.sum() + tail
    }

    /// F16 row · x.
    public static func f16(row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc: Float = 0
        for i in 0..<count {
            let w = HalfFloat.float(fromFP16: UInt16(littleEndian: row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            acc += w * x[i]
        }
        return acc
    }
}

extension GGUFFile {
    /// Matrix-vector product on the encoded weights: `y[r - rows.lowerBound] = Σᵢ W[r][i] · x[i]`
    /// for each row `r` in `rows` (default: all rows), where row r is `ne0` elements of `tensor`.
    ///
    /// - Parameters:
    ///   - x: `tensor.rowLength` (ne0) floats.
    ///   - y: room for `rows.count` floats.
    /// - Throws: ``GGUFError/tensorNotFound(_:)``, ``GGUFError/rowRangeOutOfBounds(tensor:lower:upper:rowCount:)``,
    ///   ``GGUFError/bufferTooSmall(needed:available:)`` (for `x` or `y`),
    ///   ``GGUFError/unsupportedDequantization(_:)`` if ``QuantizedDot`` lacks the type.
    public func multiply(
        _ tensor: GGUFTensorInfo, by x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
        rows: Range<Int>? = nil
    ) throws(GGUFError) {
        guard tensors[tensor.name] == tensor else { throw .tensorNotFound(tensor.name) }
        let rows = rows ?? 0..<tensor.rowCount
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount else {
            throw .rowRangeOutOfBounds(tensor: tensor.name, lower: rows.lowerBound, upper: rows.upperBound, rowCount: tensor.rowCount)
        }
        guard QuantizedDot.isSupported(tensor.type) else { throw .unsupportedDequantization(tensor.type) }
        guard x.count >= tensor.rowLength else { throw .bufferTooSmall(needed: tensor.rowLength, available: x.count) }
        guard y.count >= rows.count else { throw .bufferTooSmall(needed: rows.count, available: y.count) }
        guard !rows.isEmpty, tensor.rowLength > 0, let xBase = x.baseAddress else {
            for i in 0..<rows.count { y[i] = 0 }
            return
        }
        let base = data(of: tensor).baseAddress!
        let stride = tensor.rowByteCount, n = tensor.rowLength
        let blocks = n / 32
        switch tensor.type {
        case .q8_0:
            for (i, r) in rows.enumerated() { y[i] = QuantizedDot.q8_0(row: base + r * stride, xBase, blocks: blocks) }
        case .q4_1:
            for (i, r) in rows.enumerated() { y[i] = QuantizedDot.q4_1(row: base + r * stride, xBase, blocks: blocks) }
        default:
            for (i, r) in rows.enumerated() { y[i] = try QuantizedDot.dot(tensor.type, row: base + r * stride, xBase, count: n) }
        }
    }
}

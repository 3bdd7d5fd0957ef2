/// Byte-plane shuffle of 16-bit elements: all low bytes first, then all high bytes. Groups the
/// slowly varying sign/exponent bytes of fp16/bf16 values together, which zstd compresses far
/// better than the interleaved layout. An odd trailing byte is copied unchanged.
enum ByteShuffle {
    /// Writes the shuffle of `source` into `destination` (same count).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(source.count == destination.count)
        let n = source.count / 2
        let src = source.bindMemory(to: UInt8.self)
        let dst = destination.bindMemory(to: UInt8.self)
        for i in 0..<n {
            dst[i] = src[2 * i]
            dst[n + i] = src[2 * i + 1]
        }
        if source.count % 2 == 1 { dst[2 * n] = src[2 * n] }
    }

    /// Inverse of ``shuffle(_:into:)``.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(source.count == destination.count)
        let n = source.count / 2
        let src = source.bindMemory(to: UInt8.self)
        let dst = destination.bindMemory(to: UInt8.self)
        for i in 0..<n {
            dst[2 * i] = src[i]
            dst[2 * i + 1] = src[n + i]
        }
        if source.count % 2 == 1 { dst[2 * n] = src[2 * n] }
    }
}

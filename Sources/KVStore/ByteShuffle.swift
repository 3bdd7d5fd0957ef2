import CStoreKernels

/// Byte-plane shuffle of 16-bit elements: all low bytes first, then all high bytes. Groups the
/// slowly varying sign/exponent bytes of fp16/bf16 values together, which zstd compresses far
/// better than the interleaved layout. An odd trailing byte is copied unchanged. SSE2 loops in
/// `CStoreKernels` (scalar on other CPUs).
enum ByteShuffle {
    /// Writes the shuffle of `source` into `destination` (same count, no overlap).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(source.count == destination.count)
        guard source.count > 0 else { return }
        csk_shuffle16(source.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.baseAddress!.assumingMemoryBound(to: UInt8.self), source.count)
    }

    /// Inverse of ``shuffle(_:into:)``.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(source.count == destination.count)
        guard source.count > 0 else { return }
        csk_unshuffle16(source.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.baseAddress!.assumingMemoryBound(to: UInt8.self), source.count)
    }
}

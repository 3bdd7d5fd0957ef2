import Foundation
import CoreTypes
import CZstd
import Synchronization

/// The codec of a stored block payload, tagged in the first byte of every stored payload so
/// new codecs (e.g. lossy 8/4-bit) can be added without rewriting old blocks.
///
/// Stored payload = 12-byte header ‖ body:
/// `tag u8 ‖ 0 u8 ‖ 0 u16 ‖ rawLength u32 LE ‖ CRC-32C(raw payload) u32 LE`.
package enum PayloadCodec: UInt8, Sendable, CaseIterable {
    /// Body = the raw bytes (used when compression does not shrink a payload).
    case identity = 0
    /// Body = one zstd frame of the byte-plane shuffle (``ByteShuffle``) of the raw bytes.
    case shuffle16Zstd = 1

    /// Bytes of the header in front of every stored payload.
    static let headerBytes = 12

    /// Encodes `raw` with `.shuffle16Zstd` at `level`, falling back to `.identity` when that
    /// would not be smaller.
    static func encode(_ raw: UnsafeRawBufferPointer, level: Int32) -> [UInt8] {
        let crc = CRC32C.checksum(raw)
        let bound = ZSTD_compressBound(raw.count) + 64
        var out = [UInt8](repeating: 0, count: headerBytes + bound)
        var shuffled = [UInt8](repeating: 0, count: raw.count)
        shuffled.withUnsafeMutableBytes { ByteShuffle.shuffle(raw, into: $0) }
        let written: Int = ZstdContexts.shared.withCompressor { cctx in
            out.withUnsafeMutableBytes { dst in
                shuffled.withUnsafeBytes { src in
                    compressPlanes(cctx, UnsafeMutableRawBufferPointer(rebasing: dst[headerBytes...]), src, level: level)
                }
            }
        }
        let codec: PayloadCodec
        if ZSTD_isError(written) == 0, written < raw.count {
            codec = .shuffle16Zstd
            out.removeLast(bound - written)
        } else {
            codec = .identity
            out = [UInt8](repeating: 0, count: headerBytes + raw.count)
            out.withUnsafeMutableBytes { dst in
                if raw.count > 0 { (dst.baseAddress! + headerBytes).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            }
        }
        var header = ByteWriter(reservingCapacity: headerBytes)
        header.u8(codec.rawValue)
        header.u8(0)
        header.u16(0)
        header.u32(UInt32(raw.count))
        header.u32(crc)
        out.replaceSubrange(0..<headerBytes, with: header.bytes)
        return out
    }

    /// Compresses the shuffled bytes as one zstd frame, ending a zstd block at the boundary of
    /// the two byte planes (`ZSTD_e_flush`), so that each plane gets its own entropy tables:
    /// zstd keeps one literal Huffman table per block (up to 128 KiB), and a block mixing the
    /// near-random low bytes with the skewed high bytes would lose what the shuffle gained.
    /// Returns the frame length, or a zstd error code / `dst.count + 1` if it did not fit.
    private static func compressPlanes(
        _ cctx: OpaquePointer, _ dst: UnsafeMutableRawBufferPointer, _ src: UnsafeRawBufferPointer, level: Int32
    ) -> Int {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)
        var rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        if ZSTD_isError(rc) != 0 { return rc }
        rc = ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(src.count))
        if ZSTD_isError(rc) != 0 { return rc }
        var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
        let half = src.count / 2
        let planes: [(Int, Int, ZSTD_EndDirective)] = [(0, half, ZSTD_e_flush), (half, src.count, ZSTD_e_end)]
        for (start, end, directive) in planes {
            var input = ZSTD_inBuffer(src: src.baseAddress.map { $0 + start }, size: end - start, pos: 0)
            while true {
                let remaining = ZSTD_compressStream2(cctx, &output, &input, directive)
                if ZSTD_isError(remaining) != 0 { return remaining }
                if remaining == 0 && input.pos == input.size { break }
                if output.pos == output.size { return dst.count + 1 }
            }
        }
        return output.pos
    }

    /// Encodes `raw` (see ``encode(_:level:)-(UnsafeRawBufferPointer,_)``).
    package static func encode(_ raw: [UInt8], level: Int32) -> [UInt8] {
        raw.withUnsafeBytes { encode($0, level: level) }
    }

    /// Encodes `raw` (see ``encode(_:level:)-(UnsafeRawBufferPointer,_)``).
    static func encode(_ raw: ArraySlice<UInt8>, level: Int32) -> [UInt8] {
        raw.withUnsafeBytes { encode($0, level: level) }
    }

    /// The header fields of a stored payload, or `.corrupt` if it is too short or has an
    /// unknown tag.
    static func header(_ stored: UnsafeRawBufferPointer) throws(StoreError) -> (codec: PayloadCodec, rawLength: Int, checksum: UInt32) {
        var r = RecordReader(stored)
        guard let codec = PayloadCodec(rawValue: try r.u8()) else { throw .corrupt }
        _ = try r.u8()
        _ = try r.u16()
        let rawLength = try r.u32(), checksum = try r.u32()
        return (codec, Int(rawLength), checksum)
    }

    /// Decodes a stored payload and checks its CRC-32C; `.corrupt` on any mismatch.
    static func decode(_ stored: UnsafeRawBufferPointer) throws(StoreError) -> [UInt8] {
        let (codec, rawLength, checksum) = try header(stored)
        guard rawLength <= ModelDescriptor.maxPayloadBytes else { throw .corrupt }
        let body = UnsafeRawBufferPointer(rebasing: stored[headerBytes...])
        var raw = [UInt8](repeating: 0, count: rawLength)
        switch codec {
        case .identity:
            guard body.count == rawLength else { throw .corrupt }
            raw.withUnsafeMutableBytes { dst in
                if rawLength > 0 { dst.baseAddress!.copyMemory(from: body.baseAddress!, byteCount: rawLength) }
            }
        case .shuffle16Zstd:
            var shuffled = [UInt8](repeating: 0, count: rawLength)
            let n = ZstdContexts.shared.withDecompressor { dctx in
                shuffled.withUnsafeMutableBytes { dst in
                    ZSTD_decompressDCtx(dctx, dst.baseAddress, rawLength, body.baseAddress, body.count)
                }
            }
            guard ZSTD_isError(n) == 0, n == rawLength else { throw .corrupt }
            raw.withUnsafeMutableBytes { dst in
                shuffled.withUnsafeBytes { ByteShuffle.unshuffle($0, into: dst) }
            }
        }
        guard raw.withUnsafeBytes({ CRC32C.checksum($0) }) == checksum else { throw .corrupt }
        return raw
    }

    /// Decodes `stored` (see ``decode(_:)-(UnsafeRawBufferPointer)``).
    package static func decode(_ stored: [UInt8]) throws(StoreError) -> [UInt8] {
        try stored.withUnsafeBytes { b in Result { () throws(StoreError) in try decode(b) } }.get()
    }

    /// Decodes a stored payload fetched from elsewhere (the shared tier) for the block `info`
    /// describes: its length, and the raw length and CRC-32C in its header, must be the
    /// block's, and the decoded bytes must match that CRC; `.corrupt` otherwise.
    package static func decode(_ stored: [UInt8], matching info: BlockInfo) throws(StoreError) -> [UInt8] {
        try stored.withUnsafeBytes { b in
            Result { () throws(StoreError) in
                let (_, rawLength, checksum) = try header(b)
                guard b.count == info.storedBytes, rawLength == info.rawBytes, checksum == info.checksum else { throw .corrupt }
                return try decode(b)
            }
        }.get()
    }

    /// ``decode(_:matching:)`` of every payload, split over the cores (at most one part per 4
    /// payloads); order is kept, and a payload that fails the check is nil.
    package static func decode(matching payloads: [(stored: [UInt8], info: BlockInfo)]) -> [[UInt8]?] {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, payloads.count / 4))
        if parts == 1 { return payloads.map { try? decode($0.stored, matching: $0.info) } }
        let results = Mutex([[UInt8]?](repeating: nil, count: payloads.count))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for i in stride(from: part, to: payloads.count, by: parts) {
                let raw = try? decode(payloads[i].stored, matching: payloads[i].info)
                results.withLock { $0[i] = raw }
            }
        }
        return results.withLock { $0 }
    }
}

/// Small pools of zstd compression and decompression contexts, so concurrent encoders and
/// decoders do not allocate (and initialise) one per block.
final class ZstdContexts: Sendable {
    static let shared = ZstdContexts()

    private struct Context: @unchecked Sendable { let pointer: OpaquePointer }
    private let free = Mutex<[Context]>([])
    private let freeDecompressors = Mutex<[Context]>([])

    func withDecompressor<R>(_ body: (OpaquePointer) -> R) -> R {
        let context = freeDecompressors.withLock { $0.popLast() } ?? Context(pointer: ZSTD_createDCtx())
        defer {
            freeDecompressors.withLock { list in
                if list.count < 8 { list.append(context) } else { ZSTD_freeDCtx(context.pointer) }
            }
        }
        return body(context.pointer)
    }

    func withCompressor<R>(_ body: (OpaquePointer) -> R) -> R {
        let context = free.withLock { $0.popLast() } ?? Context(pointer: ZSTD_createCCtx())
        defer {
            free.withLock { list in
                if list.count < 8 { list.append(context) } else { ZSTD_freeCCtx(context.pointer) }
            }
        }
        return body(context.pointer)
    }
}

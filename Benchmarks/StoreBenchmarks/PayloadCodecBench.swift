import CoreTypes
import CZstd
import Foundation
import KVStore

/// Throughput and compression ratio of the payload codec (byte shuffle + zstd) on
/// ``ModelLikeData`` or on given payloads (`kvctl codec`: a real store's), single-threaded,
/// in process.
public enum PayloadCodecBench {
    /// One measurement.
    public struct Result: Sendable {
        /// Raw megabytes (10^6 bytes) encoded per second.
        public var encodeMBps: Double
        /// Raw megabytes decoded (and CRC-checked) per second.
        public var decodeMBps: Double
        /// Raw bytes / stored bytes (stored includes the 12-byte header per block).
        public var ratio: Double
        /// Raw bytes of all blocks.
        public var rawBytes: Int
        /// Stored bytes of all blocks.
        public var storedBytes: Int
        /// Baseline: raw bytes / bytes of plain zstd at the same level without the shuffle.
        public var unshuffledRatio: Double
    }

    /// Encodes then decodes `blocks` model-like payloads of `descriptor` at zstd `level`;
    /// wall-clock time around each phase. Data generation is not timed. Fails (`.corrupt`) if a
    /// decoded payload differs from the original.
    public static func run(descriptor: ModelDescriptor, blocks: Int, level: Int32) throws(StoreError) -> Result {
        let payloads = (0..<max(1, blocks)).map { ModelLikeData.payload(descriptor: descriptor, seed: UInt64($0) &+ 1) }
        return try run(payloads: payloads, level: level)
    }

    /// Encodes then decodes the given raw payloads (fp16/bf16 K/V, e.g. read from a real store
    /// with ``KVStore/payloads(_:)``) at zstd `level`, one block at a time as the store does;
    /// wall-clock time around each phase. Fails (`.corrupt`) if a decoded payload differs.
    public static func run(payloads: [[UInt8]], level: Int32) throws(StoreError) -> Result {
        let raw = payloads.reduce(0) { $0 + $1.count }

        let t0 = DispatchTime.now().uptimeNanoseconds
        let encoded = payloads.map { PayloadCodec.encode($0, level: level) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        var decoded: [[UInt8]] = []
        decoded.reserveCapacity(encoded.count)
        for e in encoded { decoded.append(try PayloadCodec.decode(e)) }
        let t2 = DispatchTime.now().uptimeNanoseconds
        guard decoded == payloads else { throw .corrupt }
        let stored = encoded.reduce(0) { $0 + $1.count }
        var plain = 0
        for p in payloads {
            let bound = ZSTD_compressBound(p.count)
            var out = [UInt8](repeating: 0, count: bound)
            let n = out.withUnsafeMutableBytes { o in
                p.withUnsafeBytes { ZSTD_compress(o.baseAddress, bound, $0.baseAddress, $0.count, level) }
            }
            plain += ZSTD_isError(n) == 0 ? n : p.count
        }
        return Result(
            encodeMBps: Double(raw) / 1e6 / (Double(t1 - t0) / 1e9),
            decodeMBps: Double(raw) / 1e6 / (Double(t2 - t1) / 1e9),
            ratio: Double(raw) / Double(stored), rawBytes: raw, storedBytes: stored,
            unshuffledRatio: Double(raw) / Double(plain))
    }
}

import CZstd
import Foundation
import Testing
@testable import KVStore

@Suite("Payload codec (byte shuffle + zstd)")
struct PayloadCodecTests {
    @Test("model-like fp16 K/V round-trips bit-exact and compresses (ratio > 1, better than zstd alone)")
    func modelLikeRoundTripAndRatio() throws {
        let d = testDescriptor(blockSize: 64)
        var raw = 0, stored = 0, plain = 0
        for seed in UInt64(1)...8 {
            let payload = modelLikePayload(d, seed: seed)
            let encoded = PayloadCodec.encode(payload, level: 3)
            #expect(encoded[0] == PayloadCodec.shuffle16Zstd.rawValue)
            #expect(try PayloadCodec.decode(encoded) == payload)
            raw += payload.count
            stored += encoded.count
            // The same payload through zstd without the shuffle, for comparison.
            let bound = ZSTD_compressBound(payload.count)
            var out = [UInt8](repeating: 0, count: bound)
            let n = out.withUnsafeMutableBytes { o in
                payload.withUnsafeBytes { ZSTD_compress(o.baseAddress, bound, $0.baseAddress, $0.count, 3) }
            }
            #expect(ZSTD_isError(n) == 0)
            plain += n
        }
        let ratio = Double(raw) / Double(stored)
        let plainRatio = Double(raw) / Double(plain)
        print("codec: model-like fp16 K/V, \(raw) raw bytes -> \(stored) stored; ratio \(ratio) (zstd without shuffle: \(plainRatio))")
        #expect(ratio > 1.05)
        #expect(ratio > plainRatio)
    }

    @Test("bf16 values also round-trip bit-exact")
    func bf16RoundTrip() throws {
        var rng = TestRandom(seed: 9)
        var payload = [UInt8]()
        for _ in 0..<4096 {
            let bits = UInt16(truncatingIfNeeded: Float(0.02 * rng.normal()).bitPattern >> 16)
            payload += [UInt8(bits & 0xff), UInt8(bits >> 8)]
        }
        let encoded = PayloadCodec.encode(payload, level: 5)
        #expect(try PayloadCodec.decode(encoded) == payload)
        #expect(encoded.count < payload.count)
    }

    @Test("incompressible bytes fall back to the identity codec and round-trip")
    func identityFallback() throws {
        var rng = TestRandom(seed: 3)
        let payload = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.u64()) }
        let encoded = PayloadCodec.encode(payload, level: 3)
        #expect(encoded[0] == PayloadCodec.identity.rawValue)
        #expect(encoded.count == payload.count + PayloadCodec.headerBytes)
        #expect(try PayloadCodec.decode(encoded) == payload)
    }

    @Test("header records the raw length and the CRC-32C of the raw payload")
    func header() throws {
        let payload = modelLikePayload(testDescriptor(), seed: 5)
        let encoded = PayloadCodec.encode(payload, level: 1)
        let h = try encoded.withUnsafeBytes { b in Result { () throws(StoreError) in try PayloadCodec.header(b) } }.get()
        #expect(h.rawLength == payload.count)
        #expect(h.checksum == CRC32C.checksum(payload))
    }

    @Test("corrupted stored bytes are detected with .corrupt", arguments: [0, 4, 8, 12, 40, -1])
    func corruptionDetected(offset: Int) throws {
        let payload = modelLikePayload(testDescriptor(), seed: 11)
        var encoded = PayloadCodec.encode(payload, level: 3)
        let i = offset >= 0 ? offset : encoded.count - 1
        encoded[i] ^= offset == 0 ? 0x7f : 0x01
        #expect(throws: StoreError.corrupt) { try PayloadCodec.decode(encoded) }
    }

    @Test("truncated stored bytes are detected with .corrupt")
    func truncationDetected() throws {
        let payload = modelLikePayload(testDescriptor(), seed: 12)
        let encoded = PayloadCodec.encode(payload, level: 3)
        for length in [0, 5, PayloadCodec.headerBytes, encoded.count / 2, encoded.count - 1] {
            #expect(throws: StoreError.corrupt) { try PayloadCodec.decode(Array(encoded.prefix(length))) }
        }
    }
}

@Suite("Byte shuffle")
struct ByteShuffleTests {
    @Test("shuffle puts low bytes first, high bytes second; unshuffle inverts (even and odd lengths)")
    func shuffleInverts() {
        for count in [0, 1, 2, 7, 8, 31, 32, 33, 63, 64, 65, 1001, 24_576] {
            let source = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var shuffled = [UInt8](repeating: 0, count: count)
            var back = [UInt8](repeating: 0, count: count)
            shuffled.withUnsafeMutableBytes { d in source.withUnsafeBytes { ByteShuffle.shuffle($0, into: d) } }
            back.withUnsafeMutableBytes { d in shuffled.withUnsafeBytes { ByteShuffle.unshuffle($0, into: d) } }
            #expect(back == source)
            let n = count / 2
            for i in 0..<n {
                #expect(shuffled[i] == source[2 * i])
                #expect(shuffled[n + i] == source[2 * i + 1])
            }
        }
    }
}

@Suite("CRC-32C")
struct CRC32CTests {
    /// Bit-at-a-time reference.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test("standard check value and agreement with a bitwise reference at every length 0...64")
    func checkValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        var rng = TestRandom(seed: 1)
        let data = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.u64()) }
        for n in 0...64 {
            let slice = Array(data.prefix(n))
            #expect(CRC32C.checksum(slice) == Self.reference(slice))
            #expect(CRC32C.portableChecksum(slice) == Self.reference(slice))
        }
    }

    @Test("the CPU-instruction path and the table path agree on long buffers at every alignment")
    func pathsAgree() {
        #if arch(x86_64)
        #expect(CRC32C.usesHardware, "every x86-64 CPU since 2008 has SSE4.2")
        #endif
        var rng = TestRandom(seed: 2)
        let data = (0..<(24_576 + 15)).map { _ in UInt8(truncatingIfNeeded: rng.u64()) }
        for offset in 0..<8 {
            for length in [1_000, 4_097, 24_576] {
                let slice = Array(data[offset..<(offset + length)])
                #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice))
            }
        }
        let short = Array(data.prefix(333))
        #expect(CRC32C.checksum(short) == Self.reference(short))
    }
}

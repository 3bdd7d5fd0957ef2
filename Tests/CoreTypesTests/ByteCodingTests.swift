import CoreTypes
import Testing


@Suite("ByteReader and ByteWriter")
struct ByteCodingTests {
    @Test("every field round-trips, little-endian")
    func roundTrip() throws {
        var w = ByteWriter()
        w.u8(0xAB)
        w.bool(true)
        w.u16(0x1234)
        w.u32(0xDEAD_BEEF)
        w.u64(0x0102_0304_0506_0708)
        w.f32(-1.5)
        w.floats([1, 2.5, -3])
        w.blockID(BlockID(high: 7, low: 9))
        w.prefixHash(PrefixHash(high: 11, low: 13))
        w.integer(Int16(-2))
        w.raw([1, 2, 3])
        w.pad(toMultipleOf: 8)
        #expect(w.bytes[2...3] == [0x34, 0x12])
        #expect(w.bytes[4...7] == [0xEF, 0xBE, 0xAD, 0xDE])

        for bytes in [w.bytes[...], [0xFF] + w.bytes[...]] {
            let body = bytes.dropFirst(bytes.count - w.bytes.count)
            var r = ByteReader(body, failure: TruncatedBytes.self)
            #expect(try r.u8() == 0xAB)
            #expect(try r.u8() == 1)
            #expect(try r.u16() == 0x1234)
            #expect(try r.u32() == 0xDEAD_BEEF)
            #expect(try r.u64() == 0x0102_0304_0506_0708)
            #expect(try r.f32() == -1.5)
            #expect(try r.floats(count: 3) == [1, 2.5, -3])
            #expect(try r.blockID() == BlockID(high: 7, low: 9))
            #expect(try r.prefixHash() == PrefixHash(high: 11, low: 13))
            #expect(try r.integer(Int16.self) == -2)
            #expect(Array(try r.slice(count: 2)) == [1, 2])
            #expect(Array(r.rest()) == [3, 0, 0, 0], "69 bytes padded to 72")
            #expect(r.remaining == 0)
        }
    }

    @Test("reads past the end throw the caller's failure and consume nothing")
    func truncation() throws {
        let bytes: [UInt8] = [1, 2, 3]
        bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, failure: TruncatedBytes.self)
            #expect(throws: TruncatedBytes(offset: 0, needed: 4, remaining: 3)) { try r.u32() }
            #expect(throws: TruncatedBytes(offset: 0, needed: 8, remaining: 3)) { try r.floats(count: 2) }
            #expect(throws: TruncatedBytes(offset: 0, needed: Int.max, remaining: 3)) { try r.floats(count: Int.max / 2) }
            #expect(r.remaining == 3)
            #expect((try? r.u16()) == 0x0201)
            #expect(throws: TruncatedBytes(offset: 2, needed: 2, remaining: 1)) { try r.slice(count: 2) }
        }
    }

    @Test("floats decode the same from non-contiguous storage")
    func floatsFromRawBuffer() throws {
        var w = ByteWriter()
        w.floats([0.25, -8, .infinity])
        let decoded = w.bytes.withUnsafeBytes { raw -> [Float]? in
            var r = ByteReader(raw, failure: TruncatedBytes.self)
            return try? r.floats(count: 3)
        }
        #expect(decoded == [0.25, -8, .infinity])
    }
}

@Suite("SplitMix64")
struct SplitMix64Tests {
    @Test("the sequence for seed 0 is the reference one")
    func reference() {
        var g = SplitMix64(seed: 0)
        // Reference values of SplitMix64 (Vigna's splitmix64.c) from state 0.
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("unit draws stay in their ranges")
    func units() {
        var g = SplitMix64(seed: 42)
        for _ in 0..<1000 {
            let u = g.nextUnit()
            #expect(u >= 0 && u < 1)
            let o = g.nextOpenUnitFloat()
            #expect(o > 0 && o < 1)
            let s = g.nextSignedUnitFloat()
            #expect(s >= -1 && s < 1)
        }
    }
}

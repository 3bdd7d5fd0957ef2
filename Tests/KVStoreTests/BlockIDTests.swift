import CoreTypes
import Testing
@testable import KVStore

@Suite("Block identity")
struct BlockIDTests {
    @Test("FNV-1a-128 matches the published vectors")
    func fnvVectors() {
        func hash(_ s: String) -> String {
            var h = FNV1a128()
            h.add(bytes: Array(s.utf8))
            return h.value.description
        }
        #expect(hash("") == "6c62272e07bb014262b821756295c58d")
        #expect(hash("a") == "d228cb696f1a8caf78912b704e4a8964")
        #expect(hash("foobar") == "343e1662793c64bf6f0d3597ba446f18")
    }

    @Test("derivation is the documented FNV-1a-128 of the 37-byte encoding; alternatives likewise")
    func documentedDerivation() {
        // Computed independently (Python big integers) over
        // struct.pack('<IQBIIQQ', 1, 0x0123456789abcdef, 1, 64, 7, 0x1111…, 0x2222…).
        let d = ModelDescriptor(layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16,
                                blockSize: 64, fingerprint: 0x0123_4567_89ab_cdef)
        let id = BlockID.derive(namespace: 1, descriptor: d, layer: 7,
                                prefixHash: PrefixHash(high: 0x1111_1111_1111_1111, low: 0x2222_2222_2222_2222))
        #expect(id.description == "ca83371f91733500f67da791ebd7e7f0")
        #expect(id.high == 0xca83_371f_9173_3500)
        // struct.pack('<QQI', 0x1111…, 0x2222…, 3).
        #expect(BlockID(high: 0x1111_1111_1111_1111, low: 0x2222_2222_2222_2222).alternative(3).description
                == "18428c100411f3a3343da9aa933a2776")
    }

    @Test("every input changes the id; the wire encoding is high then low, little-endian")
    func inputsMatter() {
        let d = testDescriptor()
        let p = PrefixHash(high: 5, low: 6)
        let base = BlockID.derive(namespace: 1, descriptor: d, layer: 0, prefixHash: p)
        var other = d
        other.fingerprint += 1
        var bigger = d
        bigger.blockSize *= 2
        var bf = d
        bf.elementType = .bf16
        let variants = [
            BlockID.derive(namespace: 2, descriptor: d, layer: 0, prefixHash: p),
            BlockID.derive(namespace: 1, descriptor: d, layer: 1, prefixHash: p),
            BlockID.derive(namespace: 1, descriptor: other, layer: 0, prefixHash: p),
            BlockID.derive(namespace: 1, descriptor: bigger, layer: 0, prefixHash: p),
            BlockID.derive(namespace: 1, descriptor: bf, layer: 0, prefixHash: p),
            BlockID.derive(namespace: 1, descriptor: d, layer: 0, prefixHash: PrefixHash(high: 5, low: 7)),
            BlockID.derive(namespace: 1, descriptor: d, layer: 0, prefixHash: PrefixHash(high: 6, low: 6)),
        ]
        #expect(Set(variants + [base]).count == variants.count + 1)
        // Heads/dims are not part of the identity (they are implied by the fingerprint).
        var heads = d
        heads.queryHeads += 1
        #expect(BlockID.derive(namespace: 1, descriptor: heads, layer: 0, prefixHash: p) == base)
        let id = BlockID(high: 0x0102_0304_0506_0708, low: 0x1112_1314_1516_1718)
        #expect(id.bytes == [8, 7, 6, 5, 4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11])
        #expect(id.bytes.withUnsafeBytes { BlockID(bytes: $0) } == id)
    }
}

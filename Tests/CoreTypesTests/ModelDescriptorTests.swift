import CoreTypes
import Testing

@Suite("ModelDescriptor")
struct ModelDescriptorTests {
    static let smolLM2 = ModelDescriptor(
        layers: 30, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 32, fingerprint: 1)

    @Test("SmolLM2's shape is valid and its sizes follow from it")
    func sizes() {
        let d = Self.smolLM2
        #expect(d.isValid && d.violation == nil)
        #expect(d.vectorDimension == 576)
        #expect(d.halfPayloadBytes == 3 * 32 * 64 * 2 && d.payloadBytes == 2 * d.halfPayloadBytes)
    }

    @Test("each invariant is reported, the first broken one first")
    func violations() {
        func with(_ change: (inout ModelDescriptor) -> Void) -> ModelDescriptor.Violation? {
            var d = Self.smolLM2
            change(&d)
            return d.violation
        }
        #expect(with { $0.layers = 0 } == .layers)
        #expect(with { $0.layers = ModelDescriptor.maxLayers } == nil)
        #expect(with { $0.layers = ModelDescriptor.maxLayers + 1 } == .layers)
        #expect(with { $0.queryHeads = 1025 } == .queryHeads)
        #expect(with { $0.kvHeads = 0 } == .kvHeads)
        #expect(with { $0.kvHeads = 2 } == .headGrouping)
        #expect(with { $0.headDim = 4097 } == .headDim)
        #expect(with { $0.blockSize = 0 } == .blockSize)
        #expect(with { $0.blockSize = 65_536 } == .blockSize)
        #expect(with { $0.queryHeads = 1024; $0.kvHeads = 1; $0.headDim = 2048 } == .vectorDimension)
        #expect(with { $0.kvHeads = 9; $0.headDim = 4096; $0.blockSize = 512 } == .payloadBytes)
        #expect(with { $0.layers = -1; $0.headDim = 0 } == .layers)
    }
}

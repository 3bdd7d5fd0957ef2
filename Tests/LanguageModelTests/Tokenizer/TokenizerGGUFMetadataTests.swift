import Foundation
import Testing
@testable import LanguageModel

/// Reading the vocabulary from GGUF metadata: missing and mistyped keys are typed errors.
@Suite struct TokenizerGGUFMetadataTests {
    static let metadata: Result<[String: GGUFValue], any Error> = Result {
        let path = TokenizerTestSupport.modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerFixtureTests.ModelMissing(path: path)
        }
        return try GGUFFile(path: path).metadata
    }

    func error(_ metadata: [String: GGUFValue]) -> TokenizerError? {
        do {
            _ = try Tokenizer(vocabulary: TokenizerVocabulary(metadata: metadata))
            return nil
        } catch {
            return error
        }
    }

    @Test func realMetadataBuildsATokenizer() throws {
        let metadata = try Self.metadata.get()
        #expect(error(metadata) == nil)
        let vocabulary = try TokenizerVocabulary(metadata: metadata)
        #expect(vocabulary.merges.count == 48_900)
        #expect(vocabulary.preTokenizer == "smollm")
    }

    @Test(arguments: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type",
                      "tokenizer.ggml.model", "tokenizer.ggml.pre"])
    func missingRequiredKey(key: String) throws {
        var metadata = try Self.metadata.get()
        metadata[key] = nil
        #expect(error(metadata) == .missingMetadata(key: key))
        #expect(error(metadata)?.code == 1)
    }

    @Test func mistypedKeysAndOtherModels() throws {
        let original = try Self.metadata.get()
        var metadata = original
        metadata["tokenizer.ggml.merges"] = .array([.uint32(3)])
        #expect(error(metadata) == .wrongMetadataType(key: "tokenizer.ggml.merges", expected: "an array of strings"))
        metadata = original
        metadata["tokenizer.ggml.eos_token_id"] = .string("2")
        #expect(error(metadata) == .wrongMetadataType(key: "tokenizer.ggml.eos_token_id", expected: "an integer"))
        metadata = original
        metadata["tokenizer.ggml.eos_token_id"] = .uint32(49_152)
        #expect(error(metadata) == .specialTokenIDOutOfRange(name: "EOS", id: 49_152))
        metadata = original
        metadata["tokenizer.ggml.model"] = .string("bert")
        #expect(error(metadata) == .unsupportedModel("bert"))
        // SentencePiece has no pre-tokenizer: SmolLM2's `smollm` is refused for it.
        metadata["tokenizer.ggml.model"] = .string("llama")
        #expect(error(metadata) == .unsupportedPreTokenizer("smollm"))
        metadata = original
        metadata["tokenizer.ggml.pre"] = .string("default")
        #expect(error(metadata) == .unsupportedPreTokenizer("default"))
        metadata = original
        metadata["tokenizer.ggml.pre"] = .string("qwen2")
        #expect(error(metadata) == .unsupportedPreTokenizer("qwen2"))
    }

    @Test func mergeNamingAnUnknownTokenInRealMetadata() throws {
        var metadata = try Self.metadata.get()
        var merges = try #require(metadata["tokenizer.ggml.merges"]?.stringArray)
        merges[5] = "r notatoken"
        metadata["tokenizer.ggml.merges"] = .array(merges.map { .string($0) })
        #expect(error(metadata) == .mergeNamesUnknownToken(index: 5, token: "notatoken"))
        // A token-type array one short.
        metadata = try Self.metadata.get()
        var types = try #require(metadata["tokenizer.ggml.token_type"]?.array)
        types.removeLast()
        metadata["tokenizer.ggml.token_type"] = .array(types)
        #expect(error(metadata) == .tokenTypeCountMismatch(tokens: 49_152, types: 49_151))
    }
}

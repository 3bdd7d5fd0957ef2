import Foundation
import LanguageModelTesting
@testable import LanguageModel

/// Shared helpers of the tokenizer tests: hand-made vocabularies and the llama.cpp fixtures.
enum TokenizerTestSupport {
    /// Root of the package, from this file's path (Tests/LanguageModelTests/Tokenizer/…).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `$ACTQKV_FIXTURES`, falling back to `<package root>/../shared/fixtures`.
    static var fixturesBase: URL {
        ProcessInfo.processInfo.environment["ACTQKV_FIXTURES"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// `$ACTQKV_FIXTURES/llamacpp-smollm2`, falling back to `<package root>/../shared/fixtures/…`.
    static var fixtureDirectory: URL { fixturesBase.appendingPathComponent("llamacpp-smollm2") }

    /// `$ACTQKV_FIXTURES/llamacpp-gemma3`, falling back to `<package root>/../shared/fixtures/…`.
    static var gemmaFixtureDirectory: URL { fixturesBase.appendingPathComponent("llamacpp-gemma3") }

    /// `$ACTQKV_MODEL`, falling back to `$HOME/.cache/actqkv/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    static var modelPath: String {
        if let path = ProcessInfo.processInfo.environment["ACTQKV_MODEL"] { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        return home + "/.cache/actqkv/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// `$ACTQKV_GEMMA_MODEL`, else Gemma 3 270M's cache path (``ModelTestSupport/gemmaModelPath``).
    static var gemmaModelPath: String { ModelTestSupport.gemmaModelPath }

    struct TokenizerFixture: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int32]
        }
        let add_bos: Bool
        let special_tokens_parsed: Bool
        let cases: [Case]
    }

    struct LogitsFixture: Decodable {
        let text: String
        let ids: [Int32]
    }

    /// `tokenizer.json` of `directory` (default: the SmolLM2 fixtures).
    static func loadTokenizerFixture(_ directory: URL = fixtureDirectory) throws -> TokenizerFixture {
        let data = try Data(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        return try JSONDecoder().decode(TokenizerFixture.self, from: data)
    }

    /// `logits/<name>.json` of `directory` (default: the SmolLM2 fixtures).
    static func loadLogitsFixture(_ name: String, _ directory: URL = fixtureDirectory) throws -> LogitsFixture {
        let data = try Data(contentsOf: directory.appendingPathComponent("logits/\(name).json"))
        return try JSONDecoder().decode(LogitsFixture.self, from: data)
    }

    /// A small byte-level vocabulary: ids 0…255 are the 256 single bytes (id = byte value, except
    /// bytes listed in `missingBytes`, whose slot holds a placeholder `<unused-N>` token of type
    /// unused), followed by `extra` normal tokens (byte-encoded texts) and then `specials`.
    static func vocabulary(
        extra: [String] = [], merges: [String] = [], specials: [(String, TokenType)] = [],
        missingBytes: Set<UInt8> = [], preTokenizer: String = "smollm"
    ) -> TokenizerVocabulary {
        var tokens: [String] = []
        var types: [Int32] = []
        for byte in 0..<256 {
            if missingBytes.contains(UInt8(byte)) {
                tokens.append("<unused-\(byte)>")
                types.append(TokenType.unused.rawValue)
            } else {
                tokens.append(ByteLevelAlphabet.text(forByte: UInt8(byte)))
                types.append(TokenType.normal.rawValue)
            }
        }
        for text in extra {
            tokens.append(text)
            types.append(TokenType.normal.rawValue)
        }
        for (text, type) in specials {
            tokens.append(text)
            types.append(type.rawValue)
        }
        return TokenizerVocabulary(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: preTokenizer)
    }
}

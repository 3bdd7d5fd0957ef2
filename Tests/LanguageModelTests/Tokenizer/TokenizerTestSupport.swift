import Foundation
@testable import LanguageModel

/// Shared helpers of the tokenizer tests: hand-made vocabularies and the llama.cpp fixtures.
enum TokenizerTestSupport {
    /// Root of the package, from this file's path (Tests/LanguageModelTests/Tokenizer/…).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `$ACTQKV_FIXTURES/llamacpp-smollm2`, falling back to `<package root>/../shared/fixtures/…`.
    static var fixtureDirectory: URL {
        let base = ProcessInfo.processInfo.environment["ACTQKV_FIXTURES"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return base.appendingPathComponent("llamacpp-smollm2")
    }

    /// `$ACTQKV_MODEL`, falling back to `$HOME/.cache/actqkv/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    static var modelPath: String {
        if let path = ProcessInfo.processInfo.environment["ACTQKV_MODEL"] { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        return home + "/.cache/actqkv/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

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

    static func loadTokenizerFixture() throws -> TokenizerFixture {
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("tokenizer.json"))
        return try JSONDecoder().decode(TokenizerFixture.self, from: data)
    }

    static func loadLogitsFixture(_ name: String) throws -> LogitsFixture {
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("logits/\(name).json"))
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

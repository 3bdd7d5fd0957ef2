import ArgumentParser
import Foundation
import LanguageModel

/// `actqkv generate`: prefill a prompt with the dense KV cache and stream the continuation.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a GGUF Llama-family model, streaming tokens as they are produced.",
        discussion: """
            The prompt is used as given (BOS first if the model asks for it); --chat wraps it as the user message of the \
            model's chat template, with the template's default system message. --timings prints prefill \
            tokens/s, decode ms/token and the peak resident memory to standard error.
            """
    )

    @Option(help: "GGUF model file, or a known model: \(KnownModel.names) (fetched by scripts/fetch-model.sh NAME; default: $ACTQKV_MODEL, else \(KnownModel.default.rawValue)).")
    var model: String?

    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8

    @Option(help: "Prompt text.")
    var prompt: String?

    @Option(help: "File holding the prompt text (UTF-8).")
    var input: String?

    @Option(name: .customLong("input-ids"), help: "File holding the prompt as token ids (decimal, separated by spaces, commas or newlines).")
    var inputIDs: String?

    @Flag(help: "Wrap the prompt as the user message of the model's chat template.")
    var chat = false

    @Option(help: "Maximum number of tokens to generate.")
    var maxTokens = 256

    @Option(help: "Sampling temperature; 0 means greedy.")
    var temperature: Float = 0

    @Option(help: "Nucleus sampling mass in (0, 1].")
    var topP: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Keep generating after the end-of-sequence token.")
    var ignoreEOS = false

    @Flag(help: "Print prefill and decode timings and peak memory to standard error.")
    var timings = false

    func validate() throws {
        let sources = [prompt != nil, input != nil, inputIDs != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --prompt, --input, --input-ids") }
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        if chat && inputIDs != nil { throw ValidationError("--chat needs a text prompt, not --input-ids") }
    }

    func run() throws {
        let path = KnownModel.path(for: model)
        let runner = try TextModel(path: path, activations: activations)
        let ids: [Int32]
        if let inputIDs {
            ids = try Self.readIDs(inputIDs)
        } else {
            var text = prompt ?? ""
            if let input { text = try String(contentsOfFile: input, encoding: .utf8) }
            ids = try runner.promptTokens(text, chat: chat)
        }
        var decoder = StreamingDecoder(tokenizer: runner.tokenizer)
        let out = FileHandle.standardOutput
        let result = try runner.model.generate(
            prompt: ids, maxTokens: maxTokens,
            sampling: SamplingParameters(temperature: temperature, topP: topP, seed: seed),
            stopTokens: ignoreEOS ? [] : runner.stopTokens
        ) { token in
            if !ignoreEOS && runner.stopTokens.contains(token) { return false }
            let piece = try decoder.append(token)
            if !piece.isEmpty { out.write(Data(piece.utf8)) }
            return true
        }
        out.write(Data((decoder.finish() + "\n").utf8))
        if timings {
            let peak = peakResidentBytes().map { String(format: "%.0f MB", Double($0) / 1_048_576) } ?? "unknown"
            let line = String(
                format: "actqkv timings: prompt %d tokens, prefill %.3f s (%.1f tokens/s); decode %d tokens, %.2f ms/token; peak memory %@ (VmHWM)\n",
                result.promptTokens, result.prefillSeconds, result.prefillTokensPerSecond,
                result.decodedTokens, result.decodeMillisecondsPerToken, peak)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    static func readIDs(_ path: String) throws -> [Int32] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var ids = [Int32]()
        for part in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
            guard let id = Int32(part) else { throw ValidationError("\(path): '\(part)' is not a token id") }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw ValidationError("\(path): no token ids") }
        return ids
    }
}

import Foundation

/// The models `scripts/fetch-model.sh NAME` fetches into the cache, by name.
public enum KnownModel: String, Sendable, CaseIterable {
    /// SmolLM2-135M-Instruct, Q4_1 GGUF (architecture `llama`, 8K context).
    case smollm2
    /// Gemma 3 270M, the base model, Q4_K_M GGUF (architecture `gemma3`, 32K context). Gemma's
    /// terms of use apply (https://ai.google.dev/gemma/terms).
    case gemma3_270m = "gemma3-270m"

    /// The model `--model` means when it is not given (see README.md §"Choosing the model").
    public static let `default` = KnownModel.smollm2

    /// File name inside the cache's `models/` directory.
    public var fileName: String {
        switch self {
        case .smollm2: "SmolLM2-135M-Instruct.Q4_1.gguf"
        case .gemma3_270m: "gemma-3-270m-q4_k_m.gguf"
        }
    }

    /// The project's cache directory, `${ACTQKV_CACHE:-$HOME/.cache/actqkv}`: models, benchmark
    /// data and the embedded kvd live below it (the scripts fetch into it; never in git).
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let home = env["HOME"] ?? NSHomeDirectory()
        return env["ACTQKV_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache/actqkv"
    }

    /// `<cacheDirectory>/models/<fileName>` (where `scripts/fetch-model.sh` puts it).
    public var cachePath: String { Self.cacheDirectory + "/models/" + fileName }

    /// The file a `--model` argument names: a known model's name gives its cache path, anything
    /// else is a path; no argument gives `$ACTQKV_MODEL` if set, else the default model's cache path.
    public static func path(for argument: String?) -> String {
        if let argument {
            return KnownModel(rawValue: argument)?.cachePath ?? argument
        }
        if let p = ProcessInfo.processInfo.environment["ACTQKV_MODEL"], !p.isEmpty { return p }
        return KnownModel.default.cachePath
    }

    /// The names `--model` accepts, for help texts.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

import Foundation

/// Where the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) is found.
public enum DefaultModel {
    /// File name of the default model inside the cache's `models/` directory.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `$ACTQKV_MODEL` if set, else `${ACTQKV_CACHE:-$HOME/.cache/actqkv}/models/<fileName>`
    /// (the path `scripts/fetch-model.sh` downloads to).
    public static var path: String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["ACTQKV_MODEL"], !p.isEmpty { return p }
        let home = env["HOME"] ?? NSHomeDirectory()
        let cache = env["ACTQKV_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache/actqkv"
        return cache + "/models/" + fileName
    }
}

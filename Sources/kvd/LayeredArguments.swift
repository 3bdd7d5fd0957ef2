import Foundation

/// Fills in `kvd serve` options from the environment and a config file, so the precedence is
/// flags > environment > config file > built-in defaults (docs/OPERATIONS.md §"Configuration").
///
/// - Environment: `KVD_<OPTION>` with the option's long name upper-cased and `-` → `_`
///   (`KVD_SOCKET`, `KVD_DURABILITY`, `KVD_SYNC_INTERVAL_MS`, …). Repeatable options
///   take a list: `admin-uid` comma-separated, `share-blocks` groups separated by `;`. Flags
///   without a value (``flags``) take `true`/`false` (also `yes`/`no`, `1`/`0`, `on`/`off`)
///   here and in the config file.
/// - Config file: `--config PATH` or `KVD_CONFIG`; lines `option = value` (long name without
///   dashes), `#` starts a comment; a repeated key repeats the option.
enum LayeredArguments {
    /// Long option names of `kvd serve` that may come from the environment or a config file.
    static let options = [
        "socket", "data", "durability", "sync-interval-ms", "capacity", "owner-quota", "share-blocks", "map-size", "compression-level",
        "socket-mode", "socket-group", "admin-uid", "max-frame-bytes", "event-loop-threads", "request-threads", "append-pipeline",
        "max-connections", "max-connections-per-uid", "handshake-timeout-seconds", "idle-timeout-seconds", "retrieval-tokens", "budget-growth", "metrics", "log-level",
        "allow-partial-uid-map", "remote", "remote-replicas", "remote-prefix", "remote-user", "remote-password",
        "remote-tls", "remote-tls-ca", "remote-tls-cert", "remote-tls-key", "remote-tls-server-name",
    ]

    /// The ``options`` that are flags without a value on the command line.
    static let flags: Set<String> = ["allow-partial-uid-map", "remote-tls"]

    /// The command-line form of flag `option` set to `value` from the environment or a config
    /// file: `[--option]` for true, `[]` for false; throws for anything else (`KVDCommand`
    /// appends where the value came from).
    static func flagArguments(_ option: String, _ value: String) throws -> [String] {
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "1", "on": return ["--\(option)"]
        case "false", "no", "0", "off": return []
        default: throw ConfigFileError("--\(option): \(value) is not true or false")
        }
    }

    /// `arguments` (without the program name) with the missing `serve` options appended.
    static func resolve(_ arguments: [String], environment: [String: String]) throws -> [String] {
        guard arguments.first == "serve" else { return arguments }
        if environment["KVD_TOP_K"] != nil {
            throw ConfigFileError("KVD_TOP_K (blocks) was replaced by KVD_RETRIEVAL_TOKENS (K·b tokens; 46 at 32-token blocks = 1472)")
        }
        var result = arguments
        var configPath = environment["KVD_CONFIG"]
        if let index = result.firstIndex(of: "--config") {
            guard index + 1 < result.count else { throw ConfigFileError("--config needs a path") }
            configPath = result[index + 1]
        }
        let given = Set(result.compactMap { $0.hasPrefix("--") ? String($0.dropFirst(2).split(separator: "=").first ?? "") : nil })
        let file = try configPath.map(parse(configFile:)) ?? [:]
        for option in options where !given.contains(option) {
            let key = "KVD_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
            let values: [String]
            if let value = environment[key] {
                values = switch option {
                case "admin-uid": value.split(separator: ",").map(String.init)
                case "share-blocks": value.split(separator: ";").map(String.init)
                default: [value]
                }
            } else if let fromFile = file[option] {
                values = fromFile
            } else {
                continue
            }
            if flags.contains(option) {
                // The last value counts, as a repeated option's last value does.
                if let last = values.last { result += try flagArguments(option, last) }
                continue
            }
            // `--option=value`, so that a value starting with `-` (a negative number) is the
            // option's value, not taken for another option.
            for value in values { result.append("--\(option)=\(value.trimmingCharacters(in: .whitespaces))") }
        }
        return result
    }

    /// Where each `serve` option of `arguments` comes from: `flag`, `environment KVD_…`,
    /// `config file PATH`, or (absent from the result) the built-in default.
    static func origins(_ arguments: [String], environment: [String: String]) -> [String: String] {
        var configPath = environment["KVD_CONFIG"]
        if let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count { configPath = arguments[index + 1] }
        let given = Set(arguments.compactMap { $0.hasPrefix("--") ? String($0.dropFirst(2).split(separator: "=").first ?? "") : nil })
        let file = (try? configPath.map(parse(configFile:))) ?? nil
        var result: [String: String] = [:]
        for option in options {
            if given.contains(option) {
                result[option] = "flag --\(option)"
            } else if environment["KVD_" + option.uppercased().replacingOccurrences(of: "-", with: "_")] != nil {
                result[option] = "environment KVD_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
            } else if file?[option] != nil, let configPath {
                result[option] = "config file \(configPath)"
            }
        }
        return result
    }

    /// Parses `option = value` lines.
    static func parse(configFile path: String) throws -> [String: [String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigFileError("cannot read config file \(path)")
        }
        var values: [String: [String]] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.first == "top-k" {
                throw ConfigFileError("\(path):\(number + 1): `top-k` (blocks) was replaced by `retrieval-tokens` (K·b tokens; top-k 46 at 32-token blocks = retrieval-tokens 1472)")
            }
            guard parts.count == 2, options.contains(parts[0]), !parts[1].isEmpty else {
                throw ConfigFileError("\(path):\(number + 1): expected `option = value` with one of: \(options.joined(separator: ", "))")
            }
            values[parts[0], default: []].append(parts[1])
        }
        return values
    }
}

/// An unreadable or malformed config file.
struct ConfigFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

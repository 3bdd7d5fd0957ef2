import ArgumentParser
import Foundation
import KVDaemon

/// `kvd config print [serve options]`: the effective configuration `kvd serve` would run with
/// (flags > KVD_* environment > config file > defaults), one `option = value` line each with
/// where the value came from; validated exactly as `serve` validates it, so a bad value is an
/// error naming the option and its source. The output is itself a valid config file.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration tools.", subcommands: [PrintConfig.self])
}

/// `kvd config print`.
struct PrintConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Print the effective `kvd serve` configuration with defaults and the source of each value.")

    @OptionGroup var serve: Serve

    func run() async throws {
        let command = serve
        let configuration = try command.makeConfiguration()
        let arguments = ["serve"] + Array(CommandLine.arguments.dropFirst(3))
        let origins = LayeredArguments.origins(arguments, environment: ProcessInfo.processInfo.environment)
        for (option, value) in Self.values(command, configuration) {
            let origin = origins[option] ?? "default"
            print("\(option) = \(value)".padding(toLength: max(40, option.count + value.count + 4), withPad: " ", startingAt: 0) + "# \(origin)")
        }
    }

    /// Every `serve` option and its effective value, in `LayeredArguments.options` order;
    /// unset optional values are commented out.
    static func values(_ s: Serve, _ c: DaemonConfiguration) -> [(String, String)] {
        var result: [(String, String)] = []
        for option in LayeredArguments.options {
            if option == "admin-uid" {
                // Repeated lines, as a config file repeats the option.
                for uid in c.adminUIDs.sorted() { result.append((option, "\(uid)")) }
                continue
            }
            if option == "share-blocks" {
                let groups = c.store.blockSharing.groups
                if groups.isEmpty { result.append(("# " + option, "(none)")) }
                for group in groups { result.append((option, group.map(String.init).joined(separator: ","))) }
                continue
            }
            let value: String? = switch option {
            case "socket": c.socketPath
            case "data": c.dataDirectory
            case "durability": s.durability.rawValue
            case "sync-interval-ms": "\(s.syncIntervalMs)"
            case "capacity": s.capacity.map { "\($0)" }
            case "owner-quota": s.ownerQuota.map { "\($0)" }
            case "map-size": "\(c.store.mapSize)"
            case "compression-level": "\(c.store.compressionLevel)"
            case "socket-mode": String(c.socketMode, radix: 8)
            case "socket-group": c.socketGroup.map { "\($0)" }
            case "max-frame-bytes": "\(c.maximumFrameBytes)"
            case "event-loop-threads": "\(c.eventLoopThreads)"
            case "request-threads": "\(c.requestThreads)"
            case "append-pipeline": "\(c.appendPipelineDepth)"
            case "max-connections": "\(c.maximumConnections)"
            case "max-connections-per-uid": "\(c.maximumConnectionsPerUID)"
            case "handshake-timeout-seconds": "\(c.handshakeTimeoutSeconds)"
            case "idle-timeout-seconds": "\(c.idleTimeoutSeconds)"
            case "retrieval-tokens": "\(c.retrievalTokens)"
            case "budget-growth": "\(c.budgetGrowth)"
            case "metrics": s.metrics
            case "log-level": s.logLevel.rawValue
            case "allow-partial-uid-map": "\(s.allowPartialUidMap)"
            case "remote": c.remote.map { ($0.tls == nil ? "redis://" : "rediss://") + $0.seeds.map(\.description).joined(separator: ",") }
            case "remote-replicas": c.remote.map { "\($0.replicas)" }
            case "remote-prefix": c.remote.map(\.keyPrefix)
            case "remote-user": c.remote?.username
            // Never printed: only whether one is set.
            case "remote-password": c.remote?.password.map { _ in "(set)" }
            case "remote-tls": c.remote.map { "\($0.tls != nil)" }
            case "remote-tls-ca": c.remote?.tls.map { $0.caFile ?? "(the system's store)" }
            case "remote-tls-cert": c.remote?.tls?.certificateFile
            case "remote-tls-key": c.remote?.tls?.keyFile
            case "remote-tls-server-name": c.remote?.tls?.serverName
            default: nil
            }
            if let value {
                result.append((option, value))
            } else {
                result.append(("# " + option, "(none)"))
            }
        }
        return result
    }
}

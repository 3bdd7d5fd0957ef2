import ArgumentParser
import Foundation
import KVDaemon
import Logging

extension Serve {
    /// Adds what systemd and the operator configured beyond the flags: the socket passed by
    /// socket activation (`LISTEN_FDS`), readiness notification (`NOTIFY_SOCKET`) and the
    /// metrics endpoint (`--metrics`).
    func applyOperations(to configuration: inout DaemonConfiguration, logger: Logger) throws {
        let environment = ProcessInfo.processInfo.environment
        let passed = try SocketActivation.passedSockets(environment: environment)
        if !passed.isEmpty {
            guard passed.count == 1 else { throw SocketActivationError.unexpectedCount(passed.count) }
            let bound = try SocketActivation.validateListeningUnixSocket(passed[0].descriptor)
            SocketActivation.consume(passed)
            configuration.listeningDescriptor = passed[0].descriptor
            if !bound.isEmpty && bound != socket {
                logger.warning("socket activation: the passed socket is bound to a different path than --socket",
                               metadata: ["passed": "\(bound)", "socket": "\(socket)"])
            }
            logger.info("socket activation", metadata: ["descriptor": "\(passed[0].descriptor)", "name": "\(passed[0].name)", "path": "\(bound)"])
        }
        configuration.systemdNotifier = SystemdNotifier(environment: environment)
    }

    /// Refuses to serve (`DaemonError.partialUserNamespace`) in a user namespace whose uid map
    /// does not cover every uid: there `SO_PEERCRED` reports every peer outside the map as the
    /// overflow uid, so they would all own the same sessions. With `--allow-partial-uid-map` it
    /// only warns. Nothing to check on a kernel without user namespaces.
    func checkUserNamespace(logger: Logger) throws {
        guard let map = try UserNamespaceMap.current() else { return }
        let overflow = UserNamespaceMap.overflowUID()
        if try map.check(allowPartial: allowPartialUidMap, overflowUID: overflow) {
            logger.warning("--allow-partial-uid-map: kvd runs in a user namespace that does not map every uid; every peer outside it appears as uid \(overflow) and they share one owner",
                           metadata: ["mappedUIDs": "\(map.mappedUIDs)"])
        }
    }

    /// Re-resolves the command line, environment and config file (same precedence as at start)
    /// and returns the log level they now say; nil (the reason written to stderr) when they no
    /// longer parse.
    static func reloadLogLevel() -> Logger.Level? {
        do {
            let arguments = try LayeredArguments.resolve(
                Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
            guard let serve = try KVDCommand.parseAsRoot(arguments) as? Serve else { return nil }
            return serve.logLevel.level
        } catch {
            FileHandle.standardError.write(Data("kvd: reload failed: \(KVDCommand.message(for: error))\n".utf8))
            return nil
        }
    }
}

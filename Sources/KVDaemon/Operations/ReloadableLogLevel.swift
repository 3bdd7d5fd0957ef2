import Logging
import Synchronization

/// The process-wide log level of kvd, changeable while it runs: by SIGHUP (re-reads the
/// configuration) and by the `reload` request (sets a level, or re-reads the configuration).
/// Log handlers created by kvd read it on every event, so a change applies to every logger at
/// once, without a restart.
public final class ReloadableLogLevel: Sendable {
    private static let installedLevel = Mutex<ReloadableLogLevel?>(nil)

    /// The level the process's log handlers follow, as installed by ``install()``; nil when
    /// none was (then `reload` requests are refused). Process-wide, like
    /// `LoggingSystem.bootstrap`.
    public static var installed: ReloadableLogLevel? { installedLevel.withLock { $0 } }

    /// Makes this the process's reloadable level (what `reload` requests change).
    public func install() { Self.installedLevel.withLock { $0 = self } }

    private let state: Mutex<Logger.Level>
    private let reread: (@Sendable () -> Logger.Level?)?

    /// Starts at `level`.
    /// - Parameter reread: re-reads the configuration (flags > KVD_* environment > config
    ///   file) and returns the log level it now names, or nil when it no longer parses (the
    ///   level then stays). nil: nothing to re-read (`reloadFromConfiguration` keeps the level).
    public init(_ level: Logger.Level, reread: (@Sendable () -> Logger.Level?)? = nil) {
        state = Mutex(level)
        self.reread = reread
    }

    /// The current level.
    public var level: Logger.Level {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    /// Sets `level` and returns the previous one.
    @discardableResult
    public func set(_ level: Logger.Level) -> Logger.Level {
        state.withLock { current in
            let previous = current
            current = level
            return previous
        }
    }

    /// Re-reads the configuration and applies its log level. Returns (previous, current), or
    /// nil when the configuration could not be re-read (the level is unchanged).
    public func reloadFromConfiguration() -> (previous: Logger.Level, current: Logger.Level)? {
        guard let reread, let level = reread() else { return nil }
        return (set(level), level)
    }
}

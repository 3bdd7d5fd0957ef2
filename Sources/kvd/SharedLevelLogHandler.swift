import KVDaemon
import Logging

/// A stderr log handler (swift-log's `StreamLogHandler` format) whose level is the shared
/// `ReloadableLogLevel`, so a reload changes what every existing logger emits.
struct SharedLevelLogHandler: LogHandler {
    private var stream: StreamLogHandler
    let shared: ReloadableLogLevel

    init(label: String, shared: ReloadableLogLevel) {
        stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = .trace
        self.shared = shared
    }

    var logLevel: Logger.Level {
        get { shared.level }
        set { shared.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= shared.level else { return }
        stream.log(event: event)
    }
}

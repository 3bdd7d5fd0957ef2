import NIOCore
import Protocol

extension DaemonServer {
    /// Sends `fields` to systemd when a notifier is configured; a failure is logged, never fatal
    /// (kvd serves whether or not systemd listens).
    func notifySystemd(_ fields: [String]) {
        guard let notifier = configuration.systemdNotifier else { return }
        do {
            try notifier.notify(fields)
        } catch {
            logger.warning("sd_notify failed", metadata: ["error": "\(error)", "fields": "\(fields)"])
        }
    }

    /// Starts the Prometheus endpoint when `configuration.metricsAddress` is set.
    func startMetricsEndpoint(
        group: any EventLoopGroup, executor: DedicatedExecutor, dispatcher: RequestDispatcher
    ) async throws -> MetricsEndpoint? {
        guard let address = configuration.metricsAddress else { return nil }
        return try await MetricsEndpoint.start(address: address, mode: configuration.socketMode, group: group, executor: executor) {
            dispatcher.prometheusText()
        }
    }
}

extension RequestDispatcher {
    /// The statistics of a `stats` request in the Prometheus text format.
    func prometheusText() -> String {
        guard case .stats(let stats)? = try? self.stats() else { return "" }
        return PrometheusExposition.render(stats)
    }
}

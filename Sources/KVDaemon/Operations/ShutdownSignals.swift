import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Routes SIGTERM and SIGINT to a graceful-shutdown action instead of killing the process.
/// Keep the returned value alive for as long as the signals should be handled.
public final class ShutdownSignals: @unchecked Sendable {
    // The sources are only created in init and cancelled in deinit; never mutated.

    private let sources: [any DispatchSourceSignal]

    /// Installs handlers for `signals` (default SIGTERM and SIGINT); `action` runs on a
    /// dispatch queue once per delivered signal, with the signal number.
    public init(signals: [Int32] = [SIGTERM, SIGINT], action: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "kvd.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { action(number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}

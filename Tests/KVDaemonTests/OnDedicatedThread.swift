import Foundation

/// Runs blocking `work` (a `recv`, a `connect`) on a thread of its own and awaits its result.
///
/// The in-process daemon serves requests on Swift's cooperative pool, which has one thread per
/// core: two tests blocking pool threads on a 2-core machine starve the daemon they wait for
/// until the socket timeout. Blocking calls in these tests therefore never run on the pool
/// (not even in `Task.detached`, which uses the same pool).
func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try work() })
        }.start()
    }
}

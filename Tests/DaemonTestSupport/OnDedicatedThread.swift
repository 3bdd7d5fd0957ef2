import Protocol
import CoreTypes
import Foundation

/// Runs blocking `work` (a `recv`, a `connect`) on a thread of its own and awaits its result.
///
/// Swift's cooperative pool has one thread per core: two tests blocking pool threads on a
/// 2-core machine would hold every other test's tasks (and clients) until the socket timeout.
/// The in-process daemon has threads of its own, but blocking calls in these tests still never
/// run on the pool (not even in `Task.detached`, which uses the same pool).
public func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try work() })
        }.start()
    }
}

import CoreTypes
import Protocol
import DaemonTestSupport
import Foundation
@testable import KVClient

extension InProcessDaemon {
    /// Includes `client`'s connection state in the hang report (``InProcessDaemon/watch(name:_:)``).
    func watch(_ client: KVClient, name: String = #function) {
        watch(name: name) { client.debugSummary }
    }
}

/// A small model shape (SmolLM2's heads, fewer layers and tokens per block).
let testDescriptor = ModelDescriptor(
    layers: 4, queryHeads: 9, kvHeads: 3, headDim: 64, elementType: .fp16, blockSize: 8, fingerprint: 0x5EED_CAFE)

/// Deterministic, non-zero blocks for `layer` at `positions`.
func makeBlocks(layer: UInt16, positions: Range<UInt32>, seed: UInt64) -> [BlockRecord] {
    var state = seed &+ UInt64(layer) &* 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }
    return positions.map { position in
        let key = (0..<testDescriptor.vectorDimension).map { _ in Float(Int(next() % 2001) - 1000) / 250 + 0.001 }
        let payload = (0..<testDescriptor.payloadBytes).map { _ in UInt8(truncatingIfNeeded: next() | 1) }
        return BlockRecord(
            layer: layer, position: position, prefixHash: PrefixHash(high: UInt64(layer), low: UInt64(position) &+ seed),
            representativeKey: key, payload: payload[...])
    }
}

/// Fails the test instead of hanging: runs `body`, or throws after `seconds`. Both run on
/// threads of their own (`withDedicatedThreads`): the guard measures the body, not how long a
/// cooperative pool held by other tests (the model tests, child-process waits) takes to run it,
/// and a body that reacts to a reply does so before the daemon gets much further.
func withHangGuard<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withDedicatedThreads { try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw HangError()
        }
        group.cancelAll()
        return value
    } }
}

struct HangError: Error, CustomStringConvertible {
    var description: String { "the operation hung" }
}


/// A flag claimed once: `claim()` is true for its first caller only. Tests fire an event (a
/// shutdown, a kill, a close, a cancel) from whichever task first sees the condition it waits
/// for, instead of after a fixed delay.
final class OneShot: Sendable {
    private let claimed = Locked(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }

    var isClaimed: Bool { claimed.withLock { $0 } }
}

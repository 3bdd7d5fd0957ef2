import CoreTypes
import Foundation
import Protocol

/// Writers on threads of their own, one per layer, each appending blocks of `shape` to one
/// session over its own connection, in order, until ``stop()`` is called or an append fails.
/// Records how many blocks each writer saw acknowledged and the error that ended each stream.
final class AppendStreams: Sendable {
    /// Blocks acknowledged so far, per writer (writer w appends to layer w), counted from
    /// position 0 (a stream that starts at `startPosition` counts the blocks before it).
    var acknowledged: [Int] { counts.current }
    /// The errors that ended streams, one per stream that ended by a failed append.
    var endings: [String] { ended.current }

    private let counts: Locked<[Int]>
    private let ended = Locked([String]())
    private let stopped = Locked(false)
    private let group = DispatchGroup()

    /// Starts `writers` streams; `blocksPerAppend(position)` is the size of the append that
    /// starts at `position`; each stream's first append is at `startPosition` (the layer's
    /// stored count). A writer that cannot connect ends without an ending.
    init(
        socketPath: String, session: String, shape: ModelDescriptor, writers: Int, seed: UInt64,
        startPosition: Int = 0, blocksPerAppend: @escaping @Sendable (Int) -> Int
    ) {
        counts = Locked([Int](repeating: startPosition, count: writers))
        for writer in 0..<writers {
            group.enter()
            Thread { [self] in
                defer { group.leave() }
                guard let client = try? TestClient(socketPath: socketPath) else { return }
                defer { client.close() }
                var position = startPosition
                while !stopped.current {
                    let count = blocksPerAppend(position)
                    let blocks = (position..<position + count).map { ModelShapes.block(shape, layer: writer, position: $0, seed: seed) }
                    do {
                        _ = try client.append(session, blocks)
                    } catch {
                        ended.withLock { $0.append("\(error)") }
                        return
                    }
                    position += count
                    counts.withLock { $0[writer] = position }
                }
            }.start()
        }
    }

    /// Asks every writer to stop after its current append.
    func stop() { stopped.withLock { $0 = true } }

    /// Waits until every writer has ended.
    func wait() { group.wait() }
}

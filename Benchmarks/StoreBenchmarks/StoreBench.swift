import CoreTypes
import Foundation
import KVStore

/// End-to-end store throughput (validate, encode, group commit, publish; then decode + CRC on
/// read), in process — to compare with ``RawLMDBBench`` (the ceiling) in `kvctl bench`.
public enum StoreBench {
    /// One measurement.
    public struct Result: Sendable {
        /// Raw payload megabytes (10^6 bytes) appended per second (all appends acknowledged).
        public var appendMBps: Double
        /// Raw payload megabytes returned by `payloads()` per second (decoded and checked).
        public var readMBps: Double
        /// Group commits used for all appends.
        public var commits: Int
        /// Append calls made.
        public var appends: Int
        /// Raw bytes / stored bytes.
        public var ratio: Double
        /// Seconds to reopen the store afterwards (rebuilding every key table from LMDB).
        public var reopenSeconds: Double
        /// Blocks the reopened store holds (counted by the reopened store, so a reopen that lost
        /// data shows here).
        public var blocks: Int
    }

    /// Opens a fresh store in `directory` (which must not hold one; its files are removed
    /// afterwards), appends `positions` positions × all layers of model-like blocks to each of
    /// `sessions` sessions — one append call per position and session, sessions appending
    /// concurrently — then reads every payload back in calls of `layers` blocks, closes, and
    /// times a reopen. Data generation is not timed.
    public static func run(
        directory: String, descriptor: ModelDescriptor, sessions: Int, positions: Int,
        durability: Durability = .sync, compressionLevel: Int32 = 3
    ) async throws(StoreError) -> Result {
        var configuration = StoreConfiguration(directory: directory)
        configuration.durability = durability
        configuration.compressionLevel = compressionLevel
        configuration.mapSize = max(1 << 30, 2 * sessions * positions * descriptor.layers * descriptor.payloadBytes)
        let store = try KVStore(configuration: configuration)
        defer {
            try? FileManager.default.removeItem(atPath: directory + "/data.mdb")
            try? FileManager.default.removeItem(atPath: directory + "/lock.mdb")
        }
        // One pool of distinct payloads reused across sessions under distinct prefixes, so
        // nothing is shared (every block is stored).
        let pool = (0..<min(64, positions * descriptor.layers)).map {
            ModelLikeData.payload(descriptor: descriptor, seed: UInt64($0) + 1)
        }
        let key = ModelLikeData.representativeKey(descriptor: descriptor, seed: 1)
        func blocks(session s: Int, position p: Int) -> [NewBlock] {
            (0..<descriptor.layers).map { l in
                NewBlock(layer: l, position: p, prefixHash: PrefixHash(high: UInt64(s), low: UInt64(p)),
                         representativeKey: key, payload: pool[(p * descriptor.layers + l) % pool.count])
            }
        }
        let names = (0..<sessions).map { "bench-\($0)" }
        for n in names { _ = try await store.createSession(name: n, owner: 0, descriptor: descriptor) }

        let t0 = DispatchTime.now().uptimeNanoseconds
        let outcome: Swift.Result<[[BlockID]], StoreError> = await withTaskGroup(of: Swift.Result<[BlockID], StoreError>.self) { group in
            for (s, n) in names.enumerated() {
                group.addTask {
                    var ids: [BlockID] = []
                    for p in 0..<positions {
                        do throws(StoreError) { ids += try await store.append(session: n, blocks: blocks(session: s, position: p)) }
                        catch { return .failure(error) }
                    }
                    return .success(ids)
                }
            }
            var all: [[BlockID]] = []
            for await r in group {
                switch r {
                case let .success(ids): all.append(ids)
                case let .failure(e): return .failure(e)
                }
            }
            return .success(all)
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let ids = try outcome.get().flatMap { $0 }
        let raw = Double(ids.count * descriptor.payloadBytes)

        let t2 = DispatchTime.now().uptimeNanoseconds
        var i = 0
        while i < ids.count {
            let chunk = Array(ids[i..<min(ids.count, i + descriptor.layers)])
            _ = try store.payloads(chunk)
            i += chunk.count
        }
        let t3 = DispatchTime.now().uptimeNanoseconds
        let stats = store.stats()
        await store.close()
        let t4 = DispatchTime.now().uptimeNanoseconds
        let reopened = try KVStore(configuration: configuration)
        let t5 = DispatchTime.now().uptimeNanoseconds
        let reopenedBlocks = reopened.stats().blocks
        await reopened.close()
        return Result(
            appendMBps: raw / 1e6 / (Double(t1 - t0) / 1e9), readMBps: raw / 1e6 / (Double(t3 - t2) / 1e9),
            commits: stats.commits, appends: sessions * positions,
            ratio: Double(stats.rawBytes) / Double(max(1, stats.storedBytes)),
            reopenSeconds: Double(t5 - t4) / 1e9, blocks: reopenedBlocks)
    }
}

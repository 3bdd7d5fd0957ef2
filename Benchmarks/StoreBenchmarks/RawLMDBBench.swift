import CLMDB
import CoreTypes
import Foundation
import KVStore

/// The ceiling for `kvctl bench`: raw LMDB put and get throughput of opaque values of the same
/// size as a block payload, without codec, checksums, metadata or group commit logic.
public enum RawLMDBBench {
    /// One measurement.
    public struct Result: Sendable {
        /// Megabytes (10^6 bytes) of values written per second: `count` puts in one write
        /// transaction, then one fsynced commit.
        public var putMBps: Double
        /// Megabytes of values read per second (every value read once, copied out of the map,
        /// from a fresh read transaction).
        public var getMBps: Double
    }

    /// Writes `count` values of `valueBytes` pseudo-random bytes into a fresh LMDB environment
    /// in `directory` (which must not hold one; removed afterwards), then reads them back.
    /// Wall-clock seconds are measured around the puts + commit (fsynced) and around the gets.
    public static func run(directory: String, valueBytes: Int, count: Int) throws(StoreError) -> Result {
        let lmdb = try LMDBEnvironment(
            directory: directory, mapSize: max(64 << 20, 2 * valueBytes * count + (64 << 20)),
            maxReaders: 8, noSync: false)
        defer {
            lmdb.close()
            try? FileManager.default.removeItem(atPath: directory + "/data.mdb")
            try? FileManager.default.removeItem(atPath: directory + "/lock.mdb")
        }
        var generator = SplitMix64(seed: 0x5eed)
        var value = [UInt8](repeating: 0, count: valueBytes)
        for i in value.indices { value[i] = UInt8(truncatingIfNeeded: generator.next()) }
        let keys = (0..<count).map { StorageKeys.layerEntry(session: 1, layer: 0, position: $0) }

        let putStart = DispatchTime.now().uptimeNanoseconds
        let txn = try lmdb.write()
        do throws(StoreError) {
            for k in keys {
                value[0] = k[15]
                try txn.put(lmdb.payloads, k, value)
            }
        } catch {
            txn.abort()
            throw error
        }
        try txn.commit()
        let putSeconds = Double(DispatchTime.now().uptimeNanoseconds - putStart) / 1e9

        let getStart = DispatchTime.now().uptimeNanoseconds
        var sink: UInt64 = 0
        let read = try lmdb.read()
        defer { read.abort() }
        for k in keys {
            guard let v = try read.get(lmdb.payloads, k) else { throw .blockNotFound }
            let copy = Array(v)
            sink &+= UInt64(copy[copy.count - 1])
        }
        let getSeconds = Double(DispatchTime.now().uptimeNanoseconds - getStart) / 1e9
        withExtendedLifetime(sink) {}
        let megabytes = Double(valueBytes * count) / 1e6
        return Result(putMBps: megabytes / putSeconds, getMBps: megabytes / getSeconds)
    }
}

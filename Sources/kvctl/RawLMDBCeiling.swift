import StoreBenchmarks

/// The in-process raw LMDB ceiling (`StoreBenchmarks.RawLMDBBench`), in MB/s (10^6 bytes).
enum RawLMDBCeiling {
    static func measure(directory: String, valueBytes: Int, count: Int) throws -> (putMBps: Double, getMBps: Double) {
        let result = try RawLMDBBench.run(directory: directory, valueBytes: valueBytes, count: count)
        return (result.putMBps, result.getMBps)
    }
}

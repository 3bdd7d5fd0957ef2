import CoreTypes

/// A named counter of a `stats` reply.
public struct StatCounter: Sendable, Hashable {
    /// Name (UTF-8, 1…255 bytes), e.g. `"retrieve.requests"`.
    public var name: String
    /// Value.
    public var value: UInt64

    /// Creates a counter.
    public init(name: String, value: UInt64) {
        self.name = name
        self.value = value
    }
}

/// One bucket of a latency histogram.
public struct HistogramBucket: Sendable, Hashable {
    /// Upper bound in seconds (inclusive; `+infinity` for the last bucket).
    public var upperBoundSeconds: Double
    /// Observations in this bucket (not cumulative).
    public var count: UInt64

    /// Creates a bucket.
    public init(upperBoundSeconds: Double, count: UInt64) {
        self.upperBoundSeconds = upperBoundSeconds
        self.count = count
    }
}

/// A named histogram of a `stats` reply.
public struct StatHistogram: Sendable, Hashable {
    /// Name (UTF-8, 1…255 bytes), e.g. `"retrieve.latency"`.
    public var name: String
    /// Sum of all observations, seconds.
    public var sumSeconds: Double
    /// Buckets in increasing upper bound.
    public var buckets: [HistogramBucket]

    /// Creates a histogram.
    public init(name: String, sumSeconds: Double, buckets: [HistogramBucket]) {
        self.name = name
        self.sumSeconds = sumSeconds
        self.buckets = buckets
    }
}

/// Server statistics (reply type `stats`; the request `stats` has an empty body).
///
/// Layout: `uptimeSeconds u64 | connections u32 | sessions u64 | blocks u64 | storedBytes u64 |
/// capacityBytes u64 | requests u64 | errors u64 | counterCount u32 | (name | value u64) ×
/// counterCount | histogramCount u32 | (name | sumSeconds f64 | bucketCount u32 |
/// (upperBoundSeconds f64 | count u64) × bucketCount) × histogramCount`, names as
/// `len u8 | UTF-8`.
public struct Stats: WireBody {
    /// Seconds since the server started.
    public var uptimeSeconds: UInt64
    /// Open client connections.
    public var connections: UInt32
    /// Sessions stored (all owners).
    public var sessions: UInt64
    /// Distinct blocks stored.
    public var blocks: UInt64
    /// Bytes used in storage.
    public var storedBytes: UInt64
    /// Configured capacity in bytes (0 = unlimited).
    public var capacityBytes: UInt64
    /// Requests answered since start.
    public var requests: UInt64
    /// Error replies sent since start.
    public var errors: UInt64
    /// Further named counters.
    public var counters: [StatCounter]
    /// Latency histograms.
    public var histograms: [StatHistogram]

    /// Creates statistics.
    public init(
        uptimeSeconds: UInt64, connections: UInt32, sessions: UInt64, blocks: UInt64, storedBytes: UInt64,
        capacityBytes: UInt64, requests: UInt64, errors: UInt64, counters: [StatCounter] = [], histograms: [StatHistogram] = []
    ) {
        self.uptimeSeconds = uptimeSeconds
        self.connections = connections
        self.sessions = sessions
        self.blocks = blocks
        self.storedBytes = storedBytes
        self.capacityBytes = capacityBytes
        self.requests = requests
        self.errors = errors
        self.counters = counters
        self.histograms = histograms
    }

    /// The value of the counter named `name`, if present.
    public func counter(_ name: String) -> UInt64? {
        counters.first { $0.name == name }?.value
    }

    private static func checkName(_ name: String) throws(ProtocolError) {
        guard (1...ProtocolLimits.maxStatNameBytes).contains(name.utf8.count) else {
            throw ProtocolError(.badArgument, "stat name must be 1…255 UTF-8 bytes")
        }
    }

    func encode(into w: inout ByteWriter) throws(ProtocolError) {
        w.u64(uptimeSeconds)
        w.u32(connections)
        w.u64(sessions)
        w.u64(blocks)
        w.u64(storedBytes)
        w.u64(capacityBytes)
        w.u64(requests)
        w.u64(errors)
        w.u32(UInt32(counters.count))
        for c in counters {
            try Self.checkName(c.name)
            try w.shortString(c.name)
            w.u64(c.value)
        }
        w.u32(UInt32(histograms.count))
        for h in histograms {
            try Self.checkName(h.name)
            try w.shortString(h.name)
            w.u64(h.sumSeconds.bitPattern)
            w.u32(UInt32(h.buckets.count))
            for b in h.buckets {
                w.u64(b.upperBoundSeconds.bitPattern)
                w.u64(b.count)
            }
        }
    }

    static func decode(from r: inout WireReader, limits: ProtocolLimits) throws(ProtocolError) -> Stats {
        var s = Stats(
            uptimeSeconds: try r.u64("stats.uptimeSeconds"), connections: try r.u32("stats.connections"),
            sessions: try r.u64("stats.sessions"), blocks: try r.u64("stats.blocks"),
            storedBytes: try r.u64("stats.storedBytes"), capacityBytes: try r.u64("stats.capacityBytes"),
            requests: try r.u64("stats.requests"), errors: try r.u64("stats.errors"))
        let nc = try r.count("stats.counterCount", limit: limits.maxStatEntries, minimumElementBytes: 10)
        s.counters.reserveCapacity(nc)
        for _ in 0..<nc {
            let name = try r.shortString("stats.counter.name")
            try checkName(name)
            s.counters.append(StatCounter(name: name, value: try r.u64("stats.counter.value")))
        }
        let nh = try r.count("stats.histogramCount", limit: limits.maxStatEntries, minimumElementBytes: 14)
        s.histograms.reserveCapacity(nh)
        for _ in 0..<nh {
            let name = try r.shortString("stats.histogram.name")
            try checkName(name)
            let sum = Double(bitPattern: try r.u64("stats.histogram.sum"))
            let nb = try r.count("stats.histogram.bucketCount", limit: limits.maxHistogramBuckets, minimumElementBytes: 16)
            var buckets: [HistogramBucket] = []
            buckets.reserveCapacity(nb)
            for _ in 0..<nb {
                let bound = Double(bitPattern: try r.u64("stats.bucket.upperBound"))
                buckets.append(HistogramBucket(upperBoundSeconds: bound, count: try r.u64("stats.bucket.count")))
            }
            s.histograms.append(StatHistogram(name: name, sumSeconds: sum, buckets: buckets))
        }
        try r.expectEnd("stats")
        return s
    }
}

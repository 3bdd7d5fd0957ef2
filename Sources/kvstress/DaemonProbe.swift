#if canImport(Glibc)
import Glibc
#endif

/// The kvd process under test, seen from outside: its pid and its memory from /proc.
struct DaemonProbe: Sendable {
    /// Process id of the daemon.
    let pid: Int32

    /// Uses `pid` when given, else the pid of the process listening on `socketPath`: the peer
    /// credentials (`SO_PEERCRED`) of a connection to it are those of the process that called
    /// `listen(2)` (under systemd socket activation that is systemd, so pass `--pid` there).
    static func locate(socketPath: String, pid: Int32?) throws(StressError) -> DaemonProbe {
        if let pid { return DaemonProbe(pid: pid) }
        let socket = try StressSocket(path: socketPath, receiveTimeoutSeconds: 5)
        defer { socket.close() }
        return DaemonProbe(pid: try socket.peerPID())
    }

    /// Whether the process still exists (and is not a zombie).
    var isAlive: Bool {
        guard let status = try? Self.status(pid) else { return false }
        return !status.contains("State:\tZ")
    }

    /// Resident set size in KiB (`VmRSS` of /proc/PID/status).
    func residentKiB() throws(StressError) -> Int { try field("VmRSS") }

    /// Peak resident set size in KiB (`VmHWM`).
    func peakResidentKiB() throws(StressError) -> Int { try field("VmHWM") }

    /// Anonymous (heap) and file-backed (the LMDB map's pages) parts of the RSS, in KiB
    /// (`RssAnon`, `RssFile`).
    func residentParts() throws(StressError) -> (anonymous: Int, file: Int) { (try field("RssAnon"), try field("RssFile")) }

    private func field(_ name: String) throws(StressError) -> Int {
        for line in try Self.status(pid).split(separator: "\n") where line.hasPrefix(name + ":") {
            if let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { return value }
        }
        throw StressError("no \(name) in /proc/\(pid)/status")
    }

    private static func status(_ pid: Int32) throws(StressError) -> String {
        let path = "/proc/\(pid)/status"
        guard let file = fopen(path, "r") else { throw StressError("cannot read \(path): errno \(errno)") }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            text += chunk[..<n]
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A failure of a kvstress driver itself, or a check it makes that failed.
struct StressError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Median of `values` (0 when empty).
func median(_ values: [Int]) -> Int {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// KiB as MiB with one decimal, for reports.
func mib(_ kib: Int) -> String {
    let tenths = (kib * 10 + 512) / 1024
    return "\(tenths / 10).\(tenths % 10) MiB"
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

import Foundation

/// A results file: JSON lines, one ``EvalRecord`` each, appended as samples finish (each line
/// written and flushed to disk before the next sample starts). Reopening it resumes: the
/// records already there are kept and their samples not run again. A last line cut off by an
/// interruption is dropped (and reported); any other malformed line is an error.
public final class EvalResultsFile {
    public let path: String
    /// Every record in the file, in order.
    public private(set) var records: [EvalRecord]
    /// Whether opening dropped a cut-off last line.
    public let droppedPartialLine: Bool
    private var keys: [EvalRecord.Key: Int] = [:]
    private let handle: FileHandle

    /// Opens (creating it when missing) the file at `path` for appending.
    public init(path: String) throws(RulerError) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            let dir = url.deletingLastPathComponent().path
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { throw .io(path: dir, reason: "\(error)") }
            guard fm.createFile(atPath: path, contents: nil) else { throw .io(path: path, reason: "cannot create the file") }
        }
        let contents = try Self.read(path: path)
        do {
            handle = try FileHandle(forUpdating: url)
            if let end = contents.completeBytes { try handle.truncate(atOffset: UInt64(end)) }
            try handle.seekToEnd()
        } catch { throw .io(path: path, reason: "\(error)") }
        records = contents.records
        droppedPartialLine = contents.completeBytes != nil
        for (i, r) in records.enumerated() { keys[r.key] = i }
    }

    deinit { try? handle.close() }

    /// The records of the file at `path` without changing it; `completeBytes` is the length of
    /// its complete lines when a cut-off last line follows them (nil when none does).
    public static func read(path: String) throws(RulerError) -> (records: [EvalRecord], completeBytes: Int?) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .io(path: path, reason: "\(error)") }
        var complete = data[...]
        var completeBytes: Int?
        if let last = data.last, last != UInt8(ascii: "\n") {
            let cut = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? data.startIndex
            complete = data[data.startIndex..<cut]
            completeBytes = cut - data.startIndex
        }
        var records: [EvalRecord] = []
        let decoder = JSONDecoder()
        for (n, line) in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do { records.append(try decoder.decode(EvalRecord.self, from: Data(line))) } catch {
                throw .malformedResults(path: path, line: n + 1, reason: "\(error)")
            }
        }
        return (records, completeBytes)
    }

    /// The record of `key`, when the file holds one.
    public func record(_ key: EvalRecord.Key) -> EvalRecord? { keys[key].map { records[$0] } }

    /// Whether the file already holds `key` for this model, settings and (when given) prompt; a
    /// record of the same key made differently is an error (resuming would mix two experiments).
    public func isDone(_ key: EvalRecord.Key, model: String, settings: String, promptDigest: String? = nil) throws(RulerError) -> Bool {
        guard let r = record(key) else { return false }
        if r.model != model { throw .conflictingResults(path: path, key: key.description, field: "model (\(r.model))") }
        if r.settings != settings { throw .conflictingResults(path: path, key: key.description, field: "settings (\(r.settings))") }
        if let promptDigest, r.promptDigest != promptDigest {
            throw .conflictingResults(path: path, key: key.description, field: "prompt (the generator or its data changed)")
        }
        return true
    }

    /// Appends `record` as one line and flushes it to disk.
    public func append(_ record: EvalRecord) throws(RulerError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var line = try encoder.encode(record)
            line.append(UInt8(ascii: "\n"))
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch { throw .io(path: path, reason: "\(error)") }
        keys[record.key] = records.count
        records.append(record)
    }

    /// Every record of the files at `paths`, read without changing them (a later file's record
    /// replaces an earlier one's with the same key), for reports over several runs.
    public static func records(paths: [String]) throws(RulerError) -> [EvalRecord] {
        var merged: [EvalRecord.Key: EvalRecord] = [:]
        var order: [EvalRecord.Key] = []
        for p in paths {
            for r in try read(path: p).records {
                if merged[r.key] == nil { order.append(r.key) }
                merged[r.key] = r
            }
        }
        return order.map { merged[$0]! }
    }
}

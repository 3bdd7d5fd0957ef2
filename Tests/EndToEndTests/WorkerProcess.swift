import Foundation
import LanguageModelTesting
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `actqkv` binary (next to the test binary) with the real model.
enum WorkerProcess {
    static var actqkvPath: String { DaemonProcess.productsDirectory.appendingPathComponent("actqkv").path }

    /// The model: `ACTQKV_MODEL`, else the default cache path; a missing model is a failure.
    static var modelPath: String { ModelTestSupport.modelPath }

    /// Small block-memory settings so that a ~2K-token document closes many blocks quickly.
    static let smallConfig = ["--sink", "32", "--window", "256", "--chunk", "128", "--block", "32", "--retrieval-tokens", "512", "--cache-blocks", "32"]

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The JSON summary (last stderr line), when the run printed one.
        var summary: [String: Any]? {
            guard let line = stderr.split(separator: "\n").last, let data = line.data(using: .utf8) else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }
        func int(_ key: String) -> Int { (summary?[key] as? NSNumber)?.intValue ?? -1 }
        func double(_ key: String) -> Double { (summary?[key] as? NSNumber)?.doubleValue ?? -1 }
        var generated: [Int] { (summary?["generated"] as? [NSNumber])?.map(\.intValue) ?? [] }
    }

    /// Starts `actqkv <command>` (default `run`; words separated by spaces, e.g. `eval ruler`) with
    /// `arguments` (model added); returns the process
    /// and its output files.
    /// `prefix` runs it through another program first (e.g. `setpriv --reuid=…` to run it as
    /// another uid).
    static func start(_ arguments: [String], command: String = "run", directory: URL, model: String? = nil,
                      prefix: [String] = []) throws -> (Process, URL, URL) {
        let modelPath = model ?? Self.modelPath
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw HarnessError("model missing at \(modelPath): run scripts/fetch-model.sh or set ACTQKV_MODEL")
        }
        guard FileManager.default.isExecutableFile(atPath: actqkvPath) else { throw HarnessError("actqkv not built at \(actqkvPath)") }
        let id = UUID().uuidString.prefix(6)
        let out = directory.appendingPathComponent("out-\(id).txt"), err = directory.appendingPathComponent("err-\(id).txt")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        let line = prefix + [actqkvPath] + command.split(separator: " ").map(String.init) + ["--model", modelPath] + arguments
        p.executableURL = URL(fileURLWithPath: line[0])
        p.arguments = Array(line.dropFirst())
        p.standardOutput = FileHandle(forWritingAtPath: out.path)!
        p.standardError = FileHandle(forWritingAtPath: err.path)!
        try p.run()
        return (p, out, err)
    }

    /// Runs to completion (fails the test after `timeout` seconds instead of hanging).
    static func run(_ arguments: [String], command: String = "run", directory: URL, timeout: Double = 900,
                    model: String? = nil, prefix: [String] = []) throws -> Result {
        let (p, out, err) = try start(arguments, command: command, directory: directory, model: model, prefix: prefix)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw HarnessError("actqkv \(command) did not finish within \(timeout) s: \(arguments)")
        }
        return Result(status: p.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// A passkey document: filler sentences with the key hidden at about `depth` of ~`sentences` sentences.
    static func passkeyDocument(key: Int, sentences: Int, depth: Double) -> String {
        let filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
        var parts = [String]()
        let at = Int(Double(sentences) * depth)
        for i in 0..<sentences {
            if i == at { parts.append("The pass key is \(key). Remember it. \(key) is the pass key.") }
            parts.append(filler)
        }
        return "There is important info hidden inside a lot of irrelevant text. Find it and memorize it.\n\n" + parts.joined(separator: " ")
    }

    static func temporaryDirectory() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("worker-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

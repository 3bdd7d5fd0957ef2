import Evaluation
import Foundation
import LanguageModel
import LanguageModelTesting
import Testing

/// RULER's data for the tests: `ACTQKV_RULER_DATA`, else the cache directory scripts/fetch-ruler.sh
/// fills; loaded once per test process. Missing data is a test failure, never a skip.
enum RulerTestData {
    static var directory: String {
        if let d = ProcessInfo.processInfo.environment["ACTQKV_RULER_DATA"], !d.isEmpty { return d }
        return KnownModel.cacheDirectory + "/ruler"
    }

    static let loaded = Result { () throws(RulerError) in try RulerData(directory: directory, tasks: RulerTask.allCases) }

    static func data() throws -> RulerData {
        try value(of: loaded, "RULER data could not be loaded (run scripts/fetch-ruler.sh or set ACTQKV_RULER_DATA)")
    }

    /// Gemma 3's tokenizer (the evaluation model), loaded once.
    static let gemmaTokenizer = Result { try Tokenizer(gguf: GGUFFile(path: ModelTestSupport.gemmaModelPath)) }

    static func tokenizer() throws -> Tokenizer {
        try value(of: gemmaTokenizer, "Gemma 3's tokenizer could not be loaded (scripts/fetch-model.sh gemma3-270m)")
    }

    /// The loaded value, or a test failure saying `why` it is missing.
    static func value<T, E: Error>(of result: Result<T, E>, _ why: String) throws -> T {
        switch result {
        case .success(let v): return v
        case .failure(let e):
            Issue.record("\(why): \(e)")
            throw e
        }
    }

    /// A cheap, monotone stand-in for a tokenizer where only the fit logic matters: one token
    /// per whitespace-separated word, plus one per 8 characters of a word beyond the first 8.
    static func wordMeasure(_ p: RulerPrompt) -> Int {
        p.text.split(whereSeparator: \.isWhitespace).reduce(1) { $0 + 1 + max(0, $1.count - 1) / 8 }
    }

    /// Runs python3 on `script` with the data directory on its path; returns standard output.
    static func python(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        var env = ProcessInfo.processInfo.environment
        env["PYTHONPATH"] = directory
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PythonFailed(message: String(decoding: errData, as: UTF8.self)) }
        return String(decoding: data, as: UTF8.self)
    }

    struct PythonFailed: Error, CustomStringConvertible { var message: String; var description: String { message } }
}

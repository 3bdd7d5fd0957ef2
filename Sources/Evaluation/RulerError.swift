/// Errors of the RULER generator, the results file and the report; `code` is stable.
public enum RulerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A task name that is not one of RULER's thirteen.
    case unknownTask(String)
    /// A data file is missing (fetch it with scripts/fetch-ruler.sh).
    case missingData(path: String)
    /// A data file does not have the expected form.
    case malformedData(path: String, reason: String)
    /// Not even the smallest haystack fits: `length` is below the task's template, its answer
    /// tokens and one haystack unit (`minimum` tokens).
    case lengthTooShort(task: String, length: Int, minimum: Int)
    /// A results file line that is not a valid record (1-based line number).
    case malformedResults(path: String, line: Int, reason: String)
    /// A results file already holds this sample and method from a different model, settings or
    /// prompt: resuming into it would mix two experiments.
    case conflictingResults(path: String, key: String, field: String)
    /// Reading or writing a file failed (errno text).
    case io(path: String, reason: String)

    /// Stable numeric code.
    public var code: Int {
        switch self {
        case .unknownTask: 1
        case .missingData: 2
        case .malformedData: 3
        case .lengthTooShort: 4
        case .malformedResults: 5
        case .conflictingResults: 6
        case .io: 7
        }
    }

    public var description: String {
        switch self {
        case .unknownTask(let name):
            "unknown RULER task '\(name)' (known: \(RulerTask.allCases.map(\.rawValue).joined(separator: ", ")), or all)"
        case .missingData(let path):
            "RULER data file \(path) is missing; fetch it with scripts/fetch-ruler.sh"
        case .malformedData(let path, let reason): "RULER data file \(path): \(reason)"
        case .lengthTooShort(let task, let length, let minimum):
            "\(task) does not fit in \(length) tokens (its smallest sample needs \(minimum))"
        case .malformedResults(let path, let line, let reason): "results file \(path), line \(line): \(reason)"
        case .conflictingResults(let path, let key, let field):
            "results file \(path) already holds \(key) with a different \(field); write to another file or remove those lines"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}

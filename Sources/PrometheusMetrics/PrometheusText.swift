/// The Prometheus text exposition format, version 0.0.4: metric families (one `# HELP`, one
/// `# TYPE` and their samples each), sorted by name, ending with a newline. kvd's endpoint and
/// `actqkv serve`'s `GET /metrics` both render through it.
public struct PrometheusText: Sendable {
    /// The HTTP `Content-Type` of the rendered text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A family's type.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    private struct Sample: Sendable {
        var suffix: String
        var labels: [Label]
        var value: Double
    }

    /// A label: name and value (rendered escaped).
    public typealias Label = (name: String, value: String)

    private var families: [String: (kind: Kind, help: String, samples: [Sample])] = [:]

    /// An empty exposition.
    public init() {}

    /// Declares family `name` (no sample yet); the first declaration's kind and help stay.
    public mutating func declare(_ name: String, _ kind: Kind, help: String) {
        if families[name] == nil { families[name] = (kind, help, []) }
    }

    /// A sample of family `name` (declared here when new); `suffix` for a histogram's `_bucket`,
    /// `_sum` and `_count`.
    public mutating func add(_ name: String, _ kind: Kind, help: String, suffix: String = "", labels: [Label] = [], value: Double) {
        declare(name, kind, help: help)
        families[name]!.samples.append(Sample(suffix: suffix, labels: labels, value: value))
    }

    /// A histogram's samples: cumulative `_bucket`s (`le`; `+Inf` added when the buckets lack
    /// it), `_sum` and `_count`. `buckets`: upper bound (seconds) and non-cumulative count.
    /// Returns the count.
    @discardableResult
    public mutating func addHistogram(_ name: String, help: String, labels: [Label] = [], buckets: [(upperBound: Double, count: UInt64)],
                                      sum: Double) -> UInt64 {
        var cumulative: UInt64 = 0
        var sawInfinity = false
        for bucket in buckets {
            cumulative &+= bucket.count
            sawInfinity = sawInfinity || bucket.upperBound == .infinity
            add(name, .histogram, help: help, suffix: "_bucket", labels: labels + [("le", Self.formatBound(bucket.upperBound))], value: Double(cumulative))
        }
        if !sawInfinity {
            add(name, .histogram, help: help, suffix: "_bucket", labels: labels + [("le", "+Inf")], value: Double(cumulative))
        }
        add(name, .histogram, help: help, suffix: "_sum", labels: labels, value: sum)
        add(name, .histogram, help: help, suffix: "_count", labels: labels, value: Double(cumulative))
        return cumulative
    }

    /// The exposition text.
    public func render() -> String {
        var text = ""
        for (name, family) in families.sorted(by: { $0.key < $1.key }) {
            text += "# HELP \(name) \(Self.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                text += name + sample.suffix
                if !sample.labels.isEmpty {
                    text += "{" + sample.labels.map { "\($0.name)=\"\(Self.escapeLabel($0.value))\"" }.joined(separator: ",") + "}"
                }
                text += " " + Self.formatValue(sample.value) + "\n"
            }
        }
        return text
    }

    /// `blocks.appended` → `blocks_appended`, `store.rawBytes` → `store_raw_bytes`: lower snake
    /// case, every character outside `[a-zA-Z0-9_]` becomes `_`.
    public static func metricName(_ name: String) -> String {
        var result = ""
        var previousWasLowerOrDigit = false
        for scalar in name.unicodeScalars {
            let isUpper = scalar.value >= 65 && scalar.value <= 90
            let isLower = scalar.value >= 97 && scalar.value <= 122
            let isDigit = scalar.value >= 48 && scalar.value <= 57
            if isUpper {
                if previousWasLowerOrDigit { result += "_" }
                result.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            } else if isLower || isDigit || scalar == "_" {
                result.unicodeScalars.append(scalar)
            } else {
                result += "_"
            }
            previousWasLowerOrDigit = isLower || isDigit
        }
        if let first = result.unicodeScalars.first, first.value >= 48 && first.value <= 57 { result = "_" + result }
        return result
    }

    /// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled as Prometheus does.
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A bucket bound for the `le` label.
    public static func formatBound(_ bound: Double) -> String {
        bound == .infinity ? "+Inf" : "\(bound)"
    }

    /// HELP text escaping: backslash and newline.
    public static func escapeHelp(_ text: String) -> String {
        escape(text, quotes: false)
    }

    /// Label value escaping: backslash, double quote and newline.
    public static func escapeLabel(_ text: String) -> String {
        escape(text, quotes: true)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\"" where quotes: result += "\\\""
            default: result.append(character)
            }
        }
        return result
    }
}

import Protocol
import CoreTypes
import DaemonTestSupport
import Foundation

/// The reference Prometheus text-format parser (`prometheus_client.parser`, the official Python
/// client, installed by scripts/setup.sh with `python3 -m pip install prometheus-client`), run
/// on exposition text. A parse error fails the test with the parser's message.
enum PrometheusParser {
    /// One parsed sample.
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Families as the parser reports them: family name → (type, samples).
    struct Parsed {
        var types: [String: String]
        var samples: [Sample]

        /// The value of the sample `name` with exactly `labels`, if present.
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
    }

    static let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = {"types": {}, "samples": []}
        for family in text_string_to_metric_families(sys.stdin.read()):
            out["types"][family.name] = family.type
            for s in family.samples:
                out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(out))
        """

    static func parse(_ text: String) throws -> Parsed {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DaemonTestError("prometheus_client rejected the exposition (is `pip install prometheus-client` done?):\n\(errorText)")
        }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let types = json["types"] as? [String: String], let samples = json["samples"] as? [[String: Any]] else {
            throw DaemonTestError("unexpected parser output: \(String(decoding: data, as: UTF8.self))")
        }
        return Parsed(types: types, samples: samples.map {
            Sample(name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
                   value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
        })
    }
}

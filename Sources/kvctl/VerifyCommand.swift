import ArgumentParser
import Foundation
import KVClient
import KVStore
#if canImport(Glibc)
import Glibc
#endif

/// `kvctl verify`: checks that every stored block decodes and matches its checksum and that
/// every session's references resolve. Exit status 1 when anything is wrong.
///
/// By default the running kvd does the check (`verify` request, administrator uids only); with
/// `--data DIR` kvctl opens the store of a *stopped* daemon directly instead (it takes the
/// store's directory lock, so it refuses while a kvd serves that directory).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify every stored block (through the running kvd; --data DIR: offline, daemon stopped).")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "Data directory of a stopped kvd: verify offline instead of through the socket.")
    var data: String?

    @Option(name: .long, help: "Failures to list, 1…1024.")
    var maxFailures: UInt32 = 100

    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...1024).contains(maxFailures) else { throw ValidationError("--max-failures must be 1…1024") }
    }

    func run() async throws {
        let outcome: Outcome
        if let data {
            outcome = try await offline(data)
        } else {
            var live: Outcome?
            try await reportingErrors {
                let client = try await connection.connect()
                defer { client.close() }
                let report = try await client.verify(maxFailures: maxFailures)
                live = Outcome(
                    ok: report.ok, blocksChecked: Int(report.blocksChecked), referencesChecked: Int(report.referencesChecked),
                    failureTotal: Int(report.failureTotal),
                    failures: report.failures.map { f in
                        let subject = f.block.map { String(format: "%016llx%016llx", $0.high, $0.low) } ?? (f.session.isEmpty ? "-" : f.session)
                        return "\(subject): \(f.reason) (\(f.reason.rawValue)): \(f.message)"
                    })
            }
            outcome = live!
        }
        if json {
            try printJSON([
                "ok": outcome.ok, "blocksChecked": outcome.blocksChecked, "referencesChecked": outcome.referencesChecked,
                "failureTotal": outcome.failureTotal, "failures": outcome.failures,
            ] as [String: Any])
        } else {
            print("checked \(outcome.blocksChecked) blocks, \(outcome.referencesChecked) references: \(outcome.ok ? "OK" : "\(outcome.failureTotal) failures")")
            for failure in outcome.failures { print("  \(failure)") }
            if outcome.failures.count < outcome.failureTotal {
                print("  … \(outcome.failureTotal - outcome.failures.count) more")
            }
        }
        if !outcome.ok { throw ExitCode(1) }
    }

    private struct Outcome {
        var ok: Bool
        var blocksChecked: Int
        var referencesChecked: Int
        var failureTotal: Int
        var failures: [String]
    }

    private func offline(_ data: String) async throws -> Outcome {
        let store = try openStoppedStore(data, remedy: "run `kvctl verify` without --data to verify through it")
        let report = store.verify()
        await store.close()
        return Outcome(
            ok: report.isOK, blocksChecked: report.blocksChecked, referencesChecked: report.referencesChecked,
            failureTotal: report.failures.count, failures: report.failures.prefix(Int(maxFailures)).map(\.description))
    }
}

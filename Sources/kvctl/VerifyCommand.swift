import ArgumentParser
import Foundation
import KVStore
#if canImport(Glibc)
import Glibc
#endif

/// `kvctl verify --data DIR`: checks that every stored block decodes and matches its checksum
/// and that every session's references resolve.
///
/// The wire protocol (v1) has no verify request yet, so this opens the store directly; it takes
/// the store's directory lock, so it refuses to run while a kvd serves that directory (stop the
/// daemon first, or run it before `kvd serve`).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify every stored block (daemon stopped; opens --data directly).")

    @Option(name: .long, help: "Data directory of the (stopped) kvd.")
    var data: String

    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let store: KVStore
        do {
            store = try KVStore(configuration: StoreConfiguration(directory: data))
        } catch .locked {
            FileHandle.standardError.write(Data("kvctl: a kvd is serving \(data); stop it before verifying\n".utf8))
            throw ExitCode(1)
        } catch {
            FileHandle.standardError.write(Data("kvctl: cannot open the store: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let report = store.verify()
        await store.close()
        if json {
            try printJSON([
                "ok": report.isOK, "blocksChecked": report.blocksChecked, "referencesChecked": report.referencesChecked,
                "failures": report.failures.map(\.description),
            ] as [String: Any])
        } else {
            print("checked \(report.blocksChecked) blocks, \(report.referencesChecked) references: \(report.isOK ? "OK" : "\(report.failures.count) failures")")
            for failure in report.failures { print("  \(failure)") }
        }
        if !report.isOK { throw ExitCode(1) }
    }
}

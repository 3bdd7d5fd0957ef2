import ArgumentParser
import Foundation
import KVStore

/// Opens the store in `directory` directly, for the commands that work on a stopped kvd's data.
/// A store a running kvd holds (its directory lock) prints `kvctl: a kvd is serving DIR; REMEDY`,
/// any other failure `kvctl: cannot open the store: …`; both exit with status 1.
func openStoppedStore(_ directory: String, remedy: String) throws -> KVStore {
    do {
        return try KVStore(configuration: StoreConfiguration(directory: directory))
    } catch .locked {
        FileHandle.standardError.write(Data("kvctl: a kvd is serving \(directory); \(remedy)\n".utf8))
        throw ExitCode(1)
    } catch {
        FileHandle.standardError.write(Data("kvctl: cannot open the store: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

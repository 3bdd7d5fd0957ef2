import Foundation

/// Runs a program to completion and returns its exit status and what it wrote on stdout and
/// stderr together. A command whose first word is not a path is looked up through `env`.
enum ChildProcess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// `environment` is added to this process's (the child inherits the rest).
    static func run(_ command: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

/// Runs the built `kvctl` binary (optionally through a prefix such as `setpriv …`).
enum Kvctl {
    typealias Result = ChildProcess.Result

    static func run(_ arguments: [String], prefix: [String] = []) throws -> Result {
        try ChildProcess.run(prefix + [DaemonProcess.kvctlPath] + arguments)
    }
}

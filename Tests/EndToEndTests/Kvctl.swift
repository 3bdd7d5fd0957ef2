import Foundation

/// Runs the built `kvctl` binary (optionally through a prefix such as `setpriv …`).
enum Kvctl {
    struct Result {
        var status: Int32
        var output: String
    }

    static func run(_ arguments: [String], prefix: [String] = []) throws -> Result {
        let process = Process()
        let command = prefix + [DaemonProcess.kvctlPath] + arguments
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

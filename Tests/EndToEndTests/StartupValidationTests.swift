import Foundation
import Testing

/// kvd refuses a configuration it could not honour, at start-up, naming the option.
extension EndToEnd {
@Suite struct StartupValidationTests {
    @Test(arguments: ["65535", "1024", "1073741825"])
    func maxFrameBytesOutsideTheHandshakeRangeIsRefused(value: String) throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanUp() }
        do {
            try daemon.start(arguments: ["--max-frame-bytes", value], timeout: 10)
            Issue.record("kvd started with --max-frame-bytes \(value)")
        } catch let error as HarnessError {
            #expect(error.description.contains("exited with status 1"), "\(error)")
            #expect(error.description.contains("--max-frame-bytes \(value)") && error.description.contains("65536"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "no socket is left behind")
    }

    @Test func theSmallestAllowedMaxFrameBytesIsAnnounced() throws {
        let daemon = try DaemonProcess(extraArguments: ["--max-frame-bytes", "65536"])
        defer { daemon.cleanUp() }
        try daemon.start()
        let client = try TestClient(socketPath: daemon.socketPath)
        defer { client.close() }
        #expect(client.helloOK?.maxFrameBytes == 65536)
    }
}
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A simulated power loss for a real `kvd` process: the interposer `Tests/PowerLoss/powerloss.c`,
/// loaded with `LD_PRELOAD`, keeps a durable image of every file in the data directory (writes
/// become durable only through fsync/fdatasync, O_DSYNC descriptors, msync(MS_SYNC) — the model
/// is described at the top of the C file). After `kill -9`, ``loseUnflushedWrites()`` replaces
/// every data file by its image: what a machine that lost power would find on its disk.
struct PowerLoss {
    /// The data directory the interposer watches.
    let dataPath: String
    /// Where the images live (one file per data file, same name).
    let imagesPath: String
    /// The compiled interposer.
    let libraryPath: String

    /// The interposer's source, outside every SwiftPM target.
    static var sourcePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PowerLoss/powerloss.c").path
    }

    /// The C compiler: `cc` on PATH, else `clang` (the Swift toolchain has one).
    static var compiler: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["cc", "clang"] {
            for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    /// Compiles the interposer with ``compiler`` into `directory`.
    /// - Throws: `HarnessError` with the compiler's output when it fails or there is no compiler.
    static func compile(into directory: URL) throws -> String {
        guard let compiler else { throw HarnessError("no C compiler (cc or clang) on PATH for \(sourcePath)") }
        let library = directory.appendingPathComponent("powerloss.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-shared", "-fPIC", "-O2", "-o", library, sourcePath, "-ldl", "-lpthread"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("\(compiler) \(sourcePath) failed:\n\(output)") }
        return library
    }

    /// Compiles the interposer into `daemon`'s temporary directory; the images go there too.
    init(for daemon: DaemonProcess) throws {
        dataPath = daemon.dataPath
        imagesPath = daemon.root.appendingPathComponent("durable-images").path
        libraryPath = try Self.compile(into: daemon.root)
    }

    /// The environment that loads the interposer into a started `kvd`.
    var environment: [String: String] {
        ["LD_PRELOAD": libraryPath, "POWERLOSS_DATA_DIR": dataPath, "POWERLOSS_SHADOW_DIR": imagesPath]
    }

    /// Replaces every data file that has an image by a copy of that image (the daemon must be
    /// dead). Returns the names of the files replaced and, per file, whether its content changed.
    @discardableResult
    func loseUnflushedWrites() throws -> [String: Bool] {
        var changed: [String: Bool] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: imagesPath) {
            let image = try Data(contentsOf: URL(fileURLWithPath: imagesPath + "/" + name))
            let target = URL(fileURLWithPath: dataPath + "/" + name)
            let before = try? Data(contentsOf: target)
            try image.write(to: target, options: .atomic)
            chmod(target.path, 0o600)
            changed[name] = before != image
        }
        return changed
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes of a GGUF file: either a private read-only memory mapping of the file
/// (`mmap(2)`, `PROT_READ`), or, for files built in memory, an owned copy.
///
/// Immutable after `init`, hence safe to share across threads. The bytes stay valid until the
/// object is deinitialised. If another process truncates a mapped file while it is mapped,
/// touching the lost pages raises SIGBUS — the same as every mmap-based reader.
final class GGUFMapping: @unchecked Sendable {
    /// First byte; nil when `size` is 0.
    let base: UnsafeRawPointer?
    /// Size in bytes.
    let size: Int
    private let isMapped: Bool

    /// Maps the file at `path` read-only. An empty file gives an empty mapping.
    init(path: String) throws(GGUFError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotMap(path: path, errno: errno) }
        let size = Int(info.st_size)
        guard size > 0 else {
            base = nil
            self.size = 0
            isMapped = false
            return
        }
        let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .cannotMap(path: path, errno: errno)
        }
        base = UnsafeRawPointer(pointer)
        self.size = size
        isMapped = true
    }

    /// Copies `bytes` into an owned, 64-byte-aligned allocation.
    init(bytes: [UInt8]) {
        size = bytes.count
        isMapped = false
        guard !bytes.isEmpty else {
            base = nil
            return
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = UnsafeRawPointer(memory)
    }

    deinit {
        guard let base else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

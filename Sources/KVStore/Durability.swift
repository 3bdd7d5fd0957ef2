/// When an acknowledged write reaches stable storage. In every mode a write call returns only
/// after its LMDB transaction has committed (so it is visible to readers and survives a crash of
/// this process); the modes differ in when the operating system is asked to flush to disk.
/// The full promise of each mode is in docs/STORAGE.md, "Durability".
public enum Durability: Sendable, Equatable {
    /// Every group commit is fsynced before any write in it returns: an acknowledged write
    /// survives power loss and OS crashes. The default.
    case sync
    /// Commits are not fsynced; the store flushes to disk at most every `milliseconds` ms
    /// (when something was written). A power loss can lose up to that window of
    /// acknowledged writes; a process crash loses nothing.
    case periodic(milliseconds: Int)
    /// Commits are never fsynced except by `close()`. A process crash loses nothing
    /// acknowledged; a power loss or OS crash can lose anything since the last `close()`.
    case none
}

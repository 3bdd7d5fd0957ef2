import KVStore

/// An append request queued in the store (``RequestDispatcher/submitAppend(_:connection:)``)
/// whose commit has not necessarily happened: the store's handle and the raw payload bytes
/// it carries (for the `bytes.appended` counter).
struct QueuedAppend: Sendable {
    /// Completes when the transaction holding the append committed or failed.
    let write: PendingWrite
    /// Raw (unencoded) payload bytes of the append's blocks.
    let rawBytes: Int
}

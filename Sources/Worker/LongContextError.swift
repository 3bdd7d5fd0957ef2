import ActQKV
import KVClient
import LanguageModel

/// Failures of the long-context worker. ``code`` is stable (7xx range of the worker).
public enum LongContextError: Error, Sendable, CustomStringConvertible {
    /// The daemon connection was lost or refused a request; nothing after the last acknowledged
    /// checkpoint can be trusted. `operation` names what was being done.
    case daemon(operation: String, KVClientError)
    /// The attention path rejected its input (a bug or an inconsistent checkpoint).
    case attention(AttentionError)
    /// The retrieval configuration is invalid.
    case configuration(String)
    /// The daemon answered something the worker cannot use (missing payload, wrong block count…).
    case inconsistentReply(String)
    /// A checkpoint could not be decoded or does not belong to this model, method or input.
    case checkpointMismatch(String)
    /// The forward pass failed.
    case model(ModelError)
    /// A stored session cannot be reused for this input.
    case sessionMismatch(String)
    /// `--resume`: the run session holds more blocks (`stored`, per layer) than its last
    /// checkpoint closed (`checkpoint`) — a worker died after appending past it — and no safe
    /// point (the session's copy taken at that checkpoint) exists to restore.
    case blocksBeyondCheckpoint(session: String, stored: Int, checkpoint: Int)

    /// Whether kvd refused a write for want of room (``KVClientError/isStorageFull``).
    public var isStorageFull: Bool {
        guard case .daemon(_, let e) = self else { return false }
        return e.isStorageFull
    }

    /// Stable numeric code.
    public var code: UInt16 {
        switch self {
        case .daemon: 701
        case .attention: 702
        case .configuration: 703
        case .inconsistentReply: 704
        case .checkpointMismatch: 705
        case .model: 706
        case .sessionMismatch: 707
        case .blocksBeyondCheckpoint: 708
        }
    }

    public var description: String {
        switch self {
        case .daemon(let op, let e):
            if e.isConnectionLoss {
                return "kvd connection lost during \(op): \(e). The answer is incomplete; the session can be continued with --resume from its last checkpoint once kvd is back."
            }
            return "kvd refused \(op): \(e)"
        case .attention(let e): return "attention failed: \(e) (code \(e.code))"
        case .configuration(let m): return "invalid configuration: \(m)"
        case .inconsistentReply(let m): return "inconsistent reply from kvd: \(m)"
        case .checkpointMismatch(let m): return "checkpoint unusable: \(m)"
        case .model(let e): return "model error: \(e)"
        case .sessionMismatch(let m): return "session mismatch: \(m)"
        case .blocksBeyondCheckpoint(let name, let stored, let checkpoint):
            return "cannot resume session \(name): it holds \(stored) blocks per layer but its last checkpoint covers \(checkpoint), and its safe point \(LongContextSession.safePointName(of: name)) is missing. Rerun without --resume (the stored document prefix is still reused)."
        }
    }
}

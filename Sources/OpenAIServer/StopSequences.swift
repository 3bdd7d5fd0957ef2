/// Cuts streamed text at the first of a request's stop strings: text that could still be the
/// start of a stop string is held back until the next piece decides, so no client ever sees a
/// part of a stop string.
struct StopSequences {
    let stops: [String]
    private var pending = ""

    init(_ stops: [String]) { self.stops = stops }

    /// Adds `piece`; returns the text that is now certain to be part of the answer and whether a
    /// stop string was found (everything from it on is dropped).
    mutating func feed(_ piece: String) -> (text: String, stopped: Bool) {
        pending += piece
        guard !stops.isEmpty else { defer { pending = "" }; return (pending, false) }
        var cut: String.Index?
        for s in stops {
            if let r = pending.range(of: s), cut.map({ r.lowerBound < $0 }) ?? true { cut = r.lowerBound }
        }
        if let cut {
            let out = String(pending[..<cut])
            pending = ""
            return (out, true)
        }
        // Hold back the longest end of the pending text that begins a stop string.
        var hold = 0
        for s in stops {
            for k in stride(from: min(s.count - 1, pending.count), through: 1, by: -1) where pending.hasSuffix(s.prefix(k)) {
                hold = max(hold, k)
                break
            }
        }
        let out = String(pending.dropLast(hold))
        pending = String(pending.suffix(hold))
        return (out, false)
    }

    /// The held-back text once generation ended without a stop string.
    mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}

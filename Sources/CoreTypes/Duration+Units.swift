extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// The duration in milliseconds (fractional).
    public var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1e3 + Double(parts.attoseconds) * 1e-15
    }

    /// The duration in whole milliseconds, rounded down for a non-negative duration (for `poll` and Redis's `WAIT`).
    public var wholeMilliseconds: Int {
        let parts = components
        return Int(parts.seconds) * 1_000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }

    /// The duration in whole nanoseconds, rounded down for a non-negative duration (for Dispatch's timeouts).
    public var wholeNanoseconds: Int {
        let parts = components
        return Int(parts.seconds) * 1_000_000_000 + Int(parts.attoseconds / 1_000_000_000)
    }
}

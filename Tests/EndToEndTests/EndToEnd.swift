import Testing

/// Every end-to-end suite, run one test at a time: the tests drive real processes with blocking
/// socket calls, so running them one at a time keeps them from occupying the test process's
/// whole cooperative thread pool (which in-process daemons of other test targets need).
@Suite(.serialized) enum EndToEnd {}

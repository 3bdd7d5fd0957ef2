import ActQKV

// Names of the ActQKV module's types that clash with Protocol's (this file imports only ActQKV,
// so the names below resolve unambiguously).

/// The algorithm's retrieval method (same raw values as the wire's).
typealias AlgorithmMethod = RetrievalMethod
/// The algorithm's prefill/decode mode (same raw values as the wire's).
typealias AlgorithmMode = RetrievalMode

import CoreMetrics
import PrometheusMetrics

/// `actqkv serve`'s metrics, in kvd's style: swift-metrics handles made by a
/// ``MetricsRegistry`` that `GET /metrics` renders in the Prometheus text format (prefix
/// `actqkv_`). Hummingbird's `MetricsMiddleware` adds the HTTP families (`hb_requests_total`,
/// `http_server_request_duration_seconds`, … by route, method and status) when the executable
/// bootstraps swift-metrics' global system with the same registry.
///
/// Families: `serve_generations_total{finish_reason}`, `serve_prompt_tokens_total`,
/// `serve_cached_tokens_total`, `serve_completion_tokens_total`, `serve_client_disconnects_total`;
/// histograms `serve_time_to_first_token_seconds` (from the request's admission) and
/// `serve_generation_seconds`; gauges `serve_waiting` (requests not yet started), `serve_active`
/// (in progress) and `serve_standbys` (prompt-cache standbys ready).
public final class ServeMetrics: Sendable {
    /// Timer buckets: generations take from tens of milliseconds to minutes.
    public static let bucketBounds: [Double] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 600, .infinity]

    /// The backend the handles write to and `/metrics` reads.
    public let registry: MetricsRegistry
    private let promptTokens, cachedTokens, completionTokens, disconnects: Counter
    private let firstToken, generation: Timer
    private let waiting, active, standbys: Meter

    static let help: [String: String] = [
        "serve.generations": "Generations finished, by finish reason.",
        "serve.prompt_tokens": "Prompt tokens of finished generations.",
        "serve.cached_tokens": "Prompt tokens taken from the prompt cache instead of computed.",
        "serve.completion_tokens": "Tokens generated.",
        "serve.client_disconnects": "Streams whose client left before the end (generation stopped).",
        "serve.time_to_first_token": "Seconds from a request's admission to its first token.",
        "serve.generation": "Seconds from a request's admission to its last token.",
        "serve.waiting": "Requests waiting to start.",
        "serve.active": "Requests in progress (computing in turns).",
        "serve.standbys": "Prompt-cache standbys ready in this process.",
    ]

    /// Handles over `registry` (by default one with ``bucketBounds``).
    public init(registry: MetricsRegistry = MetricsRegistry(bucketBounds: ServeMetrics.bucketBounds)) {
        self.registry = registry
        promptTokens = Counter(label: "serve.prompt_tokens", factory: registry)
        cachedTokens = Counter(label: "serve.cached_tokens", factory: registry)
        completionTokens = Counter(label: "serve.completion_tokens", factory: registry)
        disconnects = Counter(label: "serve.client_disconnects", factory: registry)
        firstToken = Timer(label: "serve.time_to_first_token", factory: registry)
        generation = Timer(label: "serve.generation", factory: registry)
        waiting = Meter(label: "serve.waiting", factory: registry)
        active = Meter(label: "serve.active", factory: registry)
        standbys = Meter(label: "serve.standbys", factory: registry)
    }

    /// Records one finished generation.
    func record(_ o: GenerationOutcome, clientGone: Bool) {
        Counter(label: "serve.generations", dimensions: [("finish_reason", o.finishReason)], factory: registry).increment()
        promptTokens.increment(by: o.promptTokens)
        cachedTokens.increment(by: o.cachedTokens)
        completionTokens.increment(by: o.completionTokens)
        if clientGone { disconnects.increment() }
        firstToken.recordNanoseconds(Int64(o.firstTokenSeconds * 1e9))
        generation.recordNanoseconds(Int64(o.totalSeconds * 1e9))
    }

    /// The exposition text, with the gauges read now.
    func render(waiting w: Int, active a: Int, standbys s: Int) -> String {
        waiting.set(w)
        active.set(a)
        standbys.set(s)
        return registry.exposition(prefix: "actqkv_", help: Self.help).render()
    }
}

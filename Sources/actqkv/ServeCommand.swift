import ArgumentParser
import CoreMetrics
import Foundation
import Hummingbird
import KVClient
import KVStore
import LanguageModel
import Logging
import OpenAIServer
import Synchronization
import Worker

/// `actqkv serve`: an OpenAI-compatible HTTP server whose every prompt goes through the
/// long-context worker and whose prompt cache lives in kvd (docs/SERVER.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over OpenAI's HTTP API; prompts of any length, prompt cache in kvd.",
        discussion: """
            POST /v1/chat/completions, POST /v1/completions (stream or not), GET /v1/models, GET /health. \
            Every prompt runs through the long-context worker (--method), so prompts longer than the model's \
            context are answered. The prompt cache is kvd: the state after each chat message and every \
            --cache-interval tokens is kept as a kvd session, so a later request over the same prefix — from \
            this server, after a restart, or from another server on the same kvd — computes only the rest. \
            Without --socket an embedded kvd is started on --data-dir with --capacity. Up to --max-active \
            requests are in progress, computing in turns (a chunk of prompt or a token each); the others wait in \
            arrival order.
            """
    )

    @Option(help: "GGUF model file, or a known model: \(KnownModel.names) (default: $ACTQKV_MODEL, else \(KnownModel.default.rawValue)).")
    var model: String?
    @Option(name: .customLong("model-name"), help: "The model's id in the API (default: the known model's name, else the file name without .gguf).")
    var modelName: String?
    @Option(help: activationsHelp)
    var activations: ActivationPrecision = .int8
    @Option(help: "Attention method (a block method: infllm, actqkv, actqkv-ref, activate-only, dynamic-only).")
    var method: String = "actqkv"
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "TCP port (0: any free port; the one chosen is printed).")
    var port = 8080
    @Option(help: "kvd socket; without it an embedded kvd is started.")
    var socket: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the embedded kvd (socket and store).")
    var dataDir: String?
    @Option(help: "Embedded kvd: bytes of blocks and checkpoints kept; above it the least recently used cached prompts are evicted (0: no limit).")
    var capacity = 8 << 30
    @Option(help: "Embedded kvd: sync (every checkpoint and append fsynced before it is acknowledged), periodic (every 200 ms; a crash may lose the last cached prompts, never the store's consistency) or none.")
    var durability = "periodic"
    @Option(name: .customLong("cache-interval"), help: "Tokens between the prompt cache's fixed points (besides the end of each chat message); a multiple of --chunk.")
    var cacheInterval = 4096
    @Option(name: .customLong("standbys"), help: "Prompt-cache points kept forked and resumed in this process, ready for the next request over the same prefix (0: none; each holds the worker's window, e.g. ≈ 28 MB for SmolLM2).")
    var standbys = 4
    @Option(name: .customLong("max-active"), help: "Requests in progress at once; they compute in turns, one prompt chunk or generated token each, so a short request is not held behind a long one (each holds its worker state).")
    var maxActive = 4
    @Option(name: .customLong("max-connections"), help: "HTTP connections served at once.")
    var maxConnections = 64
    @Option(name: .customLong("max-queued"), help: "Requests waiting for the model beyond the one computing (503 above it).")
    var maxQueued = 64
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (413 above it).")
    var maxBodyBytes = 16 << 20
    @Option(name: .customLong("max-prompt-tokens"), help: "Longest prompt accepted, tokens (400 context_length_exceeded above it).")
    var maxPromptTokens = 262_144
    @Option(name: .customLong("max-tokens-limit"), help: "Largest max_tokens a request may ask for.")
    var maxTokensLimit = 4096
    @Option(name: .customLong("default-max-tokens"), help: "max_tokens of a chat request that names none.")
    var defaultMaxTokens = 512
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"
    @OptionGroup(title: "Retrieval") var retrieval: RetrievalOptions

    func validate() throws {
        let m = try RunCommand.parseMethod(method)
        if m == .dense { throw ValidationError("serve runs every prompt through the long-context worker: --method must be a block method") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard capacity >= 0 else { throw ValidationError("--capacity must be ≥ 0") }
        guard ["sync", "periodic", "none"].contains(durability) else { throw ValidationError("--durability must be sync, periodic or none") }
        guard cacheInterval >= 1, cacheInterval % retrieval.chunk == 0 else {
            throw ValidationError("--cache-interval must be a positive multiple of --chunk (\(retrieval.chunk))")
        }
        for (name, v) in [("--max-connections", maxConnections), ("--max-body-bytes", maxBodyBytes), ("--max-prompt-tokens", maxPromptTokens),
                          ("--max-tokens-limit", maxTokensLimit), ("--default-max-tokens", defaultMaxTokens)] where v < 1 {
            throw ValidationError("\(name) must be ≥ 1")
        }
        guard maxActive >= 1 else { throw ValidationError("--max-active must be ≥ 1") }
        guard standbys >= 0 else { throw ValidationError("--standbys must be ≥ 0") }
        guard maxQueued >= 0 else { throw ValidationError("--max-queued must be ≥ 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    func run() async throws {
        let path = KnownModel.path(for: model)
        let settings = LongContextSettings(method: try RunCommand.parseMethod(method), retrieval: try retrieval.config,
                                           budgetGrowth: retrieval.budgetGrowth)
        let text = try TextModel(path: path, prefillChunk: settings.retrieval.chunkTokens, activations: activations)
        let fingerprint = try ModelFingerprint.of(path: path, activations: activations)
        let id = modelName ?? Self.modelID(model: model, path: path)
        var logger = Logger(label: "actqkv.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let kvd: KVDConnection
        do {
            kvd = try await KVDConnection.open(socket: socket, dataDir: dataDir, retrievalTokens: settings.retrieval.retrievalTokens,
                                               budgetGrowth: settings.budgetGrowth,
                                               capacity: capacity > 0 ? capacity : nil, durability: Self.durability(durability))
        } catch let e as KVDConnection.Unreachable {
            Self.fail(e.description)
        }
        // Runs and standbys of a server (or run) that was killed left their temporary sessions behind.
        do {
            let dropped = try await LongContextRunner.dropAbandonedSessions(client: kvd.client)
            if !dropped.isEmpty { logger.info("dropped \(dropped.count) temporary sessions of processes that were killed", metadata: ["sessions": "\(dropped.joined(separator: ","))"]) }
        } catch {
            logger.warning("could not look for abandoned temporary sessions: \(error)")
        }
        let first = HandOver<KVClient>(kvd.client)
        let socketPath = socket ?? kvd.embedded?.socketPath ?? ""
        // Hummingbird's HTTP metrics go through swift-metrics' global system: the same registry.
        let metrics = ServeMetrics()
        MetricsSystem.bootstrap(metrics.registry)
        let service = GenerationService(
            modelID: id, text: text, settings: settings, fingerprint: fingerprint,
            limits: ServerLimits(maxBodyBytes: maxBodyBytes, maxTokens: maxTokensLimit, maxPromptTokens: maxPromptTokens,
                                 maxQueued: maxQueued, maxActive: maxActive, defaultChatMaxTokens: defaultMaxTokens),
            cacheInterval: cacheInterval, standbys: standbys, metrics: metrics, logger: logger
        ) {
            // The connection opened at start first, then a new one after each loss.
            if let c = first.take() { return c }
            return try await KVClient.connect(socketPath: socketPath)
        }
        let host = self.host
        let app = OpenAIRoutes.application(service: service, listen: .init(host: host, port: port, maxConnections: maxConnections),
                                           logger: logger) { bound in
            FileHandle.standardOutput.write(Data("actqkv serve: \(id) on http://\(host):\(bound) (kvd \(socketPath))\n".utf8))
        }
        do { try await app.runService() } catch {
            await service.close()
            await kvd.embedded?.stop()
            Self.fail("\(error)")
        }
        await service.close()
        await kvd.embedded?.stop()
    }

    /// The API's name of the model: a known model's name when `--model` (or, without it, the
    /// default) names one, else the file name without `.gguf`.
    static func modelID(model: String?, path: String) -> String {
        if let known = KnownModel(rawValue: model ?? ProcessInfo.processInfo.environment["ACTQKV_MODEL"] ?? KnownModel.default.rawValue) {
            return known.rawValue
        }
        return URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    static func durability(_ name: String) -> Durability {
        switch name {
        case "sync": .sync
        case "none": .none
        default: .periodic(milliseconds: 200)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("actqkv serve: error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A value handed over once between tasks.
final class HandOver<T: Sendable>: Sendable {
    private let value: Mutex<T?>
    init(_ v: T?) { value = Mutex(v) }
    func take() -> T? { value.withLock { v in defer { v = nil }; return v } }
}


// swift-tools-version:6.1
import PackageDescription

/// actqkv: a persistent KV-block daemon (`kvd`) for long-context LLM inference, its client
/// library, the ActQKV retrieval algorithm, a reference GGUF inference worker and admin tools.
/// Module boundaries and the dependency direction are described in docs/ARCHITECTURE.md.
let package = Package(
    name: "actqkv",
    platforms: [.macOS(.v15)],  // kvd serves on its own TaskExecutor (SE-0417)
    products: [
        .executable(name: "kvd", targets: ["kvd"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
        .executable(name: "actqkv", targets: ["actqkv"]),
        .executable(name: "kvstress", targets: ["kvstress"]),
        .library(name: "KVClient", targets: ["KVClient"]),
        .library(name: "ActQKV", targets: ["ActQKV"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // C libraries from Debian (liblmdb-dev, libzstd-dev, libopenblas-dev, libhiredis-dev, libssl-dev).
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),

        // The leaf every library shares: one definition of each cross-module concept (model
        // descriptor, block id, element type, retrieval method, verify-failure kinds, fp16/bf16,
        // SplitMix64, little-endian byte reader and writer). No project imports, no I/O.
        .target(name: "CoreTypes"),

        // Pure libraries, no I/O: Protocol imports only CoreTypes; ActQKV CoreTypes and its C kernels.
        .target(name: "Protocol", dependencies: ["CoreTypes"]),
        .target(name: "ActQKV", dependencies: ["CoreTypes", "CActQKVKernels"]),
        // ActQKV's scoring and fp16/bf16 conversion kernels in C (AVX2/F16C/AVX-512 chosen at run time).
        .target(name: "CActQKVKernels", dependencies: ["CHalfFloat"], path: "Sources/CActQKVKernels"),
        // Header-only scalar fp16/bf16 conversions shared by the two C kernel targets (the Swift
        // twin is CoreTypes' HalfFloat).
        .target(name: "CHalfFloat", path: "Sources/CHalfFloat"),

        // Storage: LMDB + zstd.
        .target(name: "CStoreKernels", path: "Sources/CStoreKernels"),
        .target(name: "KVStore", dependencies: ["CoreTypes", "CLMDB", "CZstd", "CStoreKernels"]),
        // Store benchmarks and their model-like data (kvctl bench/codec, KVStoreTests): not library API.
        .target(name: "StoreBenchmarks", dependencies: ["CoreTypes", "KVStore", "CLMDB", "CZstd"], path: "Benchmarks/StoreBenchmarks"),

        // A swift-metrics backend kept in the process and the Prometheus text format: kvd's
        // `stats` and metrics endpoint, `actqkv serve`'s `/metrics`.
        .target(name: "PrometheusMetrics", dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")]),

        // The daemon: NIO event loops stay inside its listener.
        .target(
            name: "KVDaemon",
            dependencies: [
                "CoreTypes", "Protocol", "KVStore", "ActQKV", "PrometheusMetrics", "RedisCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // A Redis Cluster client (slot routing, redirections, failover retries) over hiredis's
        // RESP formatter and parser, optionally over OpenSSL's TLS: kvd's shared tier.
        .target(name: "RedisCluster", dependencies: ["CoreTypes", "CHiredis", "COpenSSL"]),

        // The async client: plain sockets, no NIO.
        .target(name: "KVClient", dependencies: ["CoreTypes", "Protocol"]),

        // The language model (GGUF, tokenizer, forward pass, sampling): knows nothing of kvd or
        // ActQKV. Its vectorised C kernels: AVX2/FMA chosen at run time.
        .target(name: "CInferenceKernels", dependencies: ["CHalfFloat"], path: "Sources/CInferenceKernels"),
        .target(name: "LanguageModel", dependencies: ["CoreTypes", "CBLAS", "CInferenceKernels"]),
        // The long-context worker: the model's layers attending through ActQKV, blocks in kvd.
        .target(name: "Worker", dependencies: ["CoreTypes", "LanguageModel", "ActQKV", "KVClient", "Protocol", "CBLAS", "CInferenceKernels"]),

        // Long-context quality evaluation: RULER's tasks generated by seed, RULER's scoring, results
        // files that resume, the summary with Wilson intervals, and its pictures. No model, no kvd.
        .target(name: "Evaluation", dependencies: ["CoreTypes"]),

        // `actqkv serve`: the OpenAI-compatible HTTP API (Hummingbird) over the long-context worker,
        // its prompt cache in kvd. HTTP stays in this module; the worker knows nothing of it.
        .target(
            name: "OpenAIServer",
            dependencies: [
                "CoreTypes", "LanguageModel", "Worker", "KVClient", "ActQKV", "PrometheusMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // Executables: wiring only.
        .executableTarget(
            name: "kvd",
            dependencies: [
                "CoreTypes", "KVDaemon", "KVStore", "RedisCluster",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kvctl",
            dependencies: [
                "CoreTypes", "KVClient", "KVStore", "StoreBenchmarks", "Protocol", "RedisCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Reliability drivers (crash cycles, random frames, soak): commands, not tests.
        .executableTarget(
            name: "kvstress",
            dependencies: [
                "CoreTypes", "KVClient", "Protocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "actqkv",
            dependencies: [
                "CoreTypes", "LanguageModel", "Worker", "ActQKV", "KVClient", "Protocol", "KVDaemon", "KVStore", "Evaluation", "OpenAIServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests: one target per module, plus end-to-end tests against real processes.
        // The in-process kvd every test target that needs one starts (a library of the tests only).
        .target(
            name: "DaemonTestSupport",
            dependencies: ["CoreTypes", "KVDaemon", "KVClient", .product(name: "Logging", package: "swift-log")],
            path: "Tests/DaemonTestSupport"
        ),
        // A Redis Cluster of real redis-server processes on loopback ports (a library of the tests only).
        .target(name: "RedisTestSupport", dependencies: ["RedisCluster"], path: "Tests/RedisTestSupport"),
        .testTarget(name: "CoreTypesTests", dependencies: ["CoreTypes"]),
        .testTarget(name: "RedisClusterTests", dependencies: ["RedisCluster", "RedisTestSupport"]),
        .testTarget(name: "ProtocolTests", dependencies: ["CoreTypes", "Protocol", "DaemonTestSupport"]),
        .testTarget(name: "ActQKVTests", dependencies: ["CoreTypes", "ActQKV"]),
        .testTarget(name: "PrometheusMetricsTests", dependencies: ["PrometheusMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]),
        .testTarget(name: "KVStoreTests", dependencies: ["CoreTypes", "KVStore", "StoreBenchmarks"]),
        .testTarget(
            name: "KVDaemonTests",
            dependencies: [
                "CoreTypes", "KVDaemon", "KVClient", "Protocol", "KVStore", "DaemonTestSupport", "PrometheusMetrics",
                "RedisCluster", "RedisTestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KVClientTests",
            dependencies: ["CoreTypes", "KVClient", "KVDaemon", "Protocol", "DaemonTestSupport"]
        ),
        // The real model loaded once per test process, and the fixtures' location, for both
        // model-side test targets.
        .target(name: "LanguageModelTesting", dependencies: ["LanguageModel"], path: "Tests/LanguageModelTesting"),
        .testTarget(
            name: "LanguageModelTests",
            dependencies: ["CoreTypes", "LanguageModel", "LanguageModelTesting", "CInferenceKernels"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "CoreTypes", "Worker", "LanguageModel", "LanguageModelTesting", "ActQKV", "KVClient", "Protocol", "DaemonTestSupport",
            ]
        ),
        .testTarget(name: "OpenAIServerTests", dependencies: ["OpenAIServer", "Worker", "LanguageModel", "PrometheusMetrics"]),
        .testTarget(name: "EvaluationTests", dependencies: ["CoreTypes", "Evaluation", "LanguageModel", "LanguageModelTesting", "Worker"]),
        .testTarget(
            name: "EndToEndTests", dependencies: ["CoreTypes", "KVClient", "Protocol", "LanguageModel", "LanguageModelTesting", "RedisTestSupport"],
            exclude: ["Serve/openai_client.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

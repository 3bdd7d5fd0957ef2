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
    ],
    targets: [
        // C libraries from Debian (liblmdb-dev, libzstd-dev, libopenblas-dev).
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),

        // Pure libraries: no I/O, no project imports.
        .target(name: "Protocol"),
        .target(name: "ActQKV", dependencies: ["CActQKVKernels"]),
        // ActQKV's scoring and fp16/bf16 conversion kernels in C (AVX2/F16C/AVX-512 chosen at run time).
        .target(name: "CActQKVKernels", path: "Sources/CActQKVKernels"),

        // Storage: LMDB + zstd.
        .target(name: "CStoreKernels", path: "Sources/CStoreKernels"),
        .target(name: "KVStore", dependencies: ["CLMDB", "CZstd", "CStoreKernels"]),

        // The daemon: NIO event loops stay inside its listener.
        .target(
            name: "KVDaemon",
            dependencies: [
                "Protocol", "KVStore", "ActQKV",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // The async client: plain sockets, no NIO.
        .target(name: "KVClient", dependencies: ["Protocol"]),

        // The reference inference worker, and its vectorised C kernels (AVX2/FMA chosen at run time).
        .target(name: "CInferenceKernels", path: "Sources/CInferenceKernels"),
        .target(name: "Inference", dependencies: ["ActQKV", "KVClient", "CBLAS", "CInferenceKernels"]),

        // Executables: wiring only.
        .executableTarget(
            name: "kvd",
            dependencies: [
                "KVDaemon", "KVStore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kvctl",
            dependencies: [
                "KVClient", "KVStore", "Protocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Reliability drivers (crash cycles, random frames, soak): commands, not tests.
        .executableTarget(
            name: "kvstress",
            dependencies: [
                "KVClient", "Protocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "actqkv",
            dependencies: [
                "Inference", "ActQKV", "KVClient", "KVDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests: one target per module, plus end-to-end tests against real processes.
        // The in-process kvd every test target that needs one starts (a library of the tests only).
        .target(
            name: "DaemonTestSupport",
            dependencies: ["KVDaemon", "KVClient", .product(name: "Logging", package: "swift-log")],
            path: "Tests/DaemonTestSupport"
        ),
        .testTarget(name: "ProtocolTests", dependencies: ["Protocol"]),
        .testTarget(name: "ActQKVTests", dependencies: ["ActQKV"]),
        .testTarget(name: "KVStoreTests", dependencies: ["KVStore"]),
        .testTarget(
            name: "KVDaemonTests",
            dependencies: [
                "KVDaemon", "KVClient", "Protocol", "KVStore", "DaemonTestSupport", .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KVClientTests",
            dependencies: ["KVClient", "KVDaemon", "Protocol", "DaemonTestSupport"]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "ActQKV", "KVClient", "DaemonTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["KVClient", "Protocol"]),
    ],
    swiftLanguageModes: [.v6]
)

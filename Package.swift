// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-vllm",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VLLM", targets: ["VLLM"]),
        .library(name: "VLLMServer", targets: ["VLLMServer"]),
        .executable(name: "vllm", targets: ["vllm"]),
        // The shared library the Python package loads (libSwiftVLLM.so).
        .library(name: "SwiftVLLM", type: .dynamic, targets: ["VLLMCAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // No traits: drops swift-configuration and Foundation/ICU from Hummingbird (smaller binary).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        // HTTP(S) client for hub downloads; FoundationNetworking's URLSession does not link with
        // --static-swift-stdlib here (it needs libcurl).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // SIMD hot loops in C with runtime CPU dispatch; no allocation, no threads.
        .target(name: "CKernels"),
        // Open MPI's library loaded at run time (the parallel modes), so nothing needs MPI to build.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl")]),
        // Thread pool, dtypes and Swift wrappers over CKernels.
        .target(name: "VLLMCompute", dependencies: ["CKernels"]),
        // Weight files (GGUF), model configs and architectures.
        .target(name: "VLLMModels", dependencies: ["VLLMCompute"]),
        // Tokenizers and the incremental detokenizer.
        .target(name: "VLLMTokenizers", dependencies: ["VLLMModels"]),
        // Jinja templates with jinja2/Hugging Face semantics, and `apply_chat_template`.
        .target(name: "VLLMJinja"),
        // vLLM's tool-call parsers (`--tool-call-parser`): model output to OpenAI tool calls,
        // whole or streamed. Uses VLLMJinja's JSON reading; independent of the engine.
        .target(name: "VLLMToolParsers", dependencies: ["VLLMJinja"]),
        // Structured outputs: JSON schemas, regexes, choices and grammars compiled to automata
        // over bytes, and the allowed-token masks they give a vocabulary.
        .target(name: "VLLMStructuredOutput", dependencies: ["VLLMJinja"]),
        // The V1 engine: KV cache manager, scheduler, engine core, workers, sampling, AsyncLLM.
        .target(name: "VLLMEngine", dependencies: ["VLLMModels", "VLLMTokenizers", "VLLMStructuredOutput"]),
        // The Hugging Face hub: a model argument (local path or ORG/NAME) to a local path, through
        // the hub cache shared with Python's huggingface_hub, downloading into it when needed.
        .target(name: "VLLMHub", dependencies: [
            "VLLMCompute",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Tensor parallelism over MPI ranks: the group, its executor and the worker ranks' loop.
        .target(name: "VLLMDistributed", dependencies: ["CMPI", "VLLMEngine"]),
        // Public Swift API.
        .target(name: "VLLM", dependencies: ["VLLMEngine", "VLLMHub", "VLLMDistributed"]),
        // The OpenAI-compatible HTTP server (`vllm serve`) on Hummingbird.
        .target(name: "VLLMServer", dependencies: [
            "VLLM",
            "VLLMJinja",
            "VLLMToolParsers",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // The engine's command-line flags (vLLM's names), shared by the `vllm` command and the
        // Python binding, which turns `LLM(**kwargs)` into the same flags.
        .target(name: "VLLMCommandLine", dependencies: [
            "VLLM",
            "VLLMServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The C ABI of the Python binding (python/): opaque handles and JSON text.
        .target(name: "VLLMCAPI", dependencies: [
            "VLLM",
            "VLLMCommandLine",
            "VLLMServer",
            "VLLMJinja",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vllm", dependencies: [
            "VLLM",
            "VLLMCommandLine",
            "VLLMJinja",
            "VLLMServer",
            "VLLMToolParsers",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Paths to the default model and reference data, shared by the test targets.
        .target(name: "VLLMTestSupport", dependencies: ["VLLMCompute"], path: "Tests/VLLMTestSupport"),
        .testTarget(name: "VLLMComputeTests", dependencies: ["VLLMCompute"], exclude: ["Fixtures"]),
        .testTarget(name: "VLLMModelsTests", dependencies: ["VLLMModels", "VLLMTestSupport"]),
        .testTarget(name: "VLLMDistributedTests", dependencies: ["VLLMDistributed"]),
        .testTarget(name: "VLLMTokenizersTests", dependencies: ["VLLMTokenizers", "VLLMTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "VLLMEngineTests", dependencies: ["VLLMEngine", "VLLM", "VLLMTestSupport"]),
        .testTarget(name: "VLLMJinjaTests", dependencies: ["VLLMJinja", "VLLMTestSupport"]),
        .testTarget(name: "VLLMStructuredOutputTests", dependencies: ["VLLMStructuredOutput", "VLLMJinja", "VLLMTestSupport"]),
        .testTarget(name: "VLLMToolParsersTests", dependencies: ["VLLMToolParsers", "VLLMJinja", "VLLMTestSupport"]),
        // Runs a fake hub on loopback (Hummingbird) to download from.
        .testTarget(name: "VLLMHubTests", dependencies: [
            "VLLMHub",
            "VLLMTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
    ]
)

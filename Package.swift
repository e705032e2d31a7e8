// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-vllm",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VLLM", targets: ["VLLM"]),
        .executable(name: "vllm", targets: ["vllm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // SIMD hot loops in C with runtime CPU dispatch; no allocation, no threads.
        .target(name: "CKernels"),
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
        // The V1 engine: KV cache manager, scheduler, engine core, workers, sampling, AsyncLLM.
        .target(name: "VLLMEngine", dependencies: ["VLLMModels", "VLLMTokenizers"]),
        // Public Swift API.
        .target(name: "VLLM", dependencies: ["VLLMEngine"]),
        .executableTarget(name: "vllm", dependencies: [
            "VLLM",
            "VLLMJinja",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Paths to the default model and reference data, shared by the test targets.
        .target(name: "VLLMTestSupport", path: "Tests/VLLMTestSupport"),
        .testTarget(name: "VLLMComputeTests", dependencies: ["VLLMCompute"]),
        .testTarget(name: "VLLMModelsTests", dependencies: ["VLLMModels", "VLLMTestSupport"]),
        .testTarget(name: "VLLMTokenizersTests", dependencies: ["VLLMTokenizers", "VLLMTestSupport"]),
        .testTarget(name: "VLLMEngineTests", dependencies: ["VLLMEngine", "VLLMTestSupport"]),
        .testTarget(name: "VLLMJinjaTests", dependencies: ["VLLMJinja"]),
        .testTarget(name: "VLLMToolParsersTests", dependencies: ["VLLMToolParsers", "VLLMJinja"]),
    ]
)

/// This build's version (`vllm --version`; the ranks of a parallel group check they agree on it).
public let swiftVLLMVersion = "0.1.0"

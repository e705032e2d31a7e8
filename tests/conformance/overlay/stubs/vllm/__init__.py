"""Import stubs for vLLM's OpenAI-server tests run against swift-vllm: only the names the test
files import, as constants or thin stand-ins (nothing of vLLM's code)."""

// VLLM

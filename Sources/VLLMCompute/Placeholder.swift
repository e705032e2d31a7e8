// VLLMCompute

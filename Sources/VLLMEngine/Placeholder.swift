// VLLMEngine

// VLLMTokenizers

// VLLMModels

@_exported import VLLMCompute
@_exported import VLLMEngine
@_exported import VLLMModels
@_exported import VLLMTokenizers
@_exported import VLLMHub
@_exported import VLLMStructuredOutput
@_exported import VLLMDistributed

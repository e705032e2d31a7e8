"""swift_vllm: vLLM's offline Python API (`LLM`, `SamplingParams`, …) on the swift-vllm engine,
in this process (the engine is a shared library loaded through ctypes)."""
from .llm import LLM
from .lora import LoRARequest
from .outputs import BeamSearchOutput, BeamSearchSequence, CompletionOutput, Logprob, RequestOutput
from .sampling_params import (BeamSearchParams, GuidedDecodingParams, RequestOutputKind, SamplingParams,
                              StructuredOutputsParams)

__version__ = "0.1.0"
__all__ = ["LLM", "SamplingParams", "BeamSearchParams", "LoRARequest", "RequestOutput", "CompletionOutput",
           "Logprob", "BeamSearchOutput", "BeamSearchSequence", "StructuredOutputsParams", "GuidedDecodingParams",
           "RequestOutputKind"]

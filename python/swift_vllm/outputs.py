"""vLLM's output classes: RequestOutput, CompletionOutput, Logprob; BeamSearchOutput and its
sequences."""
import dataclasses
from typing import Optional, Union


@dataclasses.dataclass
class Logprob:
    logprob: float
    rank: Optional[int] = None
    decoded_token: Optional[str] = None


def _step(entries):
    """{token id: Logprob} in the engine's order: a token listed twice keeps its first place and
    its last entry, as vLLM's dicts do."""
    step = {}
    for token_id, logprob, rank, text in entries:
        step[token_id] = Logprob(logprob, rank, text)
    return step


@dataclasses.dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list
    cumulative_logprob: Optional[float]
    logprobs: Optional[list]
    finish_reason: Optional[str] = None
    stop_reason: Union[int, str, None] = None
    lora_request: Optional[object] = None

    def finished(self):
        return self.finish_reason is not None


@dataclasses.dataclass
class RequestOutput:
    request_id: str
    prompt: Optional[str]
    prompt_token_ids: list
    prompt_logprobs: Optional[list]
    outputs: list
    finished: bool
    lora_request: Optional[object] = None
    num_cached_tokens: Optional[int] = None

    @classmethod
    def from_engine(cls, request_id, data, lora_request=None):
        prompt_logprobs = data["prompt_logprobs"]
        if prompt_logprobs is not None:
            prompt_logprobs = [None if s is None else _step(s) for s in prompt_logprobs]
        outputs = [CompletionOutput(index=o["index"], text=o["text"], token_ids=o["token_ids"],
                                    cumulative_logprob=o["cumulative_logprob"],
                                    logprobs=None if o["logprobs"] is None else [_step(s) for s in o["logprobs"]],
                                    finish_reason=o["finish_reason"], stop_reason=o["stop_reason"],
                                    lora_request=lora_request)
                   for o in data["outputs"]]
        return cls(request_id=request_id, prompt=data["prompt"], prompt_token_ids=data["prompt_token_ids"],
                   prompt_logprobs=prompt_logprobs, outputs=outputs, finished=True, lora_request=lora_request)


@dataclasses.dataclass
class BeamSearchSequence:
    tokens: list
    logprobs: list
    lora_request: Optional[object] = None
    cum_logprob: float = 0.0
    text: Optional[str] = None
    finish_reason: Optional[str] = None
    stop_reason: Union[int, str, None] = None


@dataclasses.dataclass
class BeamSearchOutput:
    sequences: list

"""vLLM's offline `LLM` on the swift-vllm engine, in this process."""
import itertools
import json
import sys
from typing import Optional, Sequence, Union

from . import _lib
from .lora import LoRARequest
from .outputs import BeamSearchOutput, BeamSearchSequence, RequestOutput
from .sampling_params import BeamSearchParams, SamplingParams

# vLLM keyword arguments with no work to do on this engine, accepted as vLLM accepts them: there
# is no swap space (preemption recomputes), no tokenizer mode to choose, no stats logger, no
# all-reduce, no CUDA graphs.
_NO_OP = {"swap_space", "tokenizer_mode", "disable_log_stats", "disable_custom_all_reduce", "cpu_offload_gb",
          "compilation_config", "hf_token", "allowed_local_media_path"}
# vLLM 0.11 names where the engine's flag differs.
_RENAMED = {"kv_cache_memory_bytes": "kv_cache_memory"}
# Boolean flags that default to on: False turns them off.
_ON_BY_DEFAULT = {"enable_prefix_caching", "enable_chunked_prefill"}


def _flags(key, value):
    key = _RENAMED.get(key, key)
    flag = "--" + key.replace("_", "-")
    if value is None:
        return []
    if isinstance(value, bool):
        if key in _ON_BY_DEFAULT:
            return [flag] if value else ["--no-" + key.replace("_", "-")]
        return [flag] if value else []
    if isinstance(value, dict):
        return [flag, json.dumps(value)]
    if isinstance(value, (list, tuple)):
        return [flag, *map(str, value)]
    return [flag, str(value)]


def _prompt(p):
    if isinstance(p, str):
        return {"prompt": p}
    if isinstance(p, dict) and ("prompt" in p or "prompt_token_ids" in p):
        out = {}
        if "prompt_token_ids" in p:
            ids = p["prompt_token_ids"]
            if not isinstance(ids, (list, tuple)) or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
                raise TypeError("prompt_token_ids must be a list of int")
            out["prompt_token_ids"] = list(ids)
        if isinstance(p.get("prompt"), str):
            out["prompt"] = p["prompt"]
        elif "prompt_token_ids" not in p:
            raise TypeError("prompt must be a str")
        return out
    raise TypeError(f"a prompt is a str, or a dict with 'prompt' or 'prompt_token_ids'; got {type(p).__name__}")


def _prompts(prompts):
    if isinstance(prompts, (str, dict)):
        return [_prompt(prompts)]
    return [_prompt(p) for p in prompts]


class _Progress:
    """tqdm's bar when tqdm is installed (as vLLM shows), else a one-line bar on a terminal."""

    def __init__(self, total, desc):
        try:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=desc, dynamic_ncols=True)
        except ImportError:
            self._bar = None
        self.total, self.desc, self.done = total, desc, 0

    def update(self, done):
        if done <= self.done:
            return
        if self._bar is not None:
            self._bar.update(done - self.done)
        elif sys.stderr.isatty():
            print(f"\r{self.desc}: {done}/{self.total}", end="", file=sys.stderr, flush=True)
        self.done = done

    def close(self, completed):
        if completed:
            self.update(self.total)
        if self._bar is not None:
            self._bar.close()
        elif sys.stderr.isatty():
            print(file=sys.stderr)


class LLM:
    """An engine loaded in this process. `model`: a hub repo id (from the Hugging Face cache or
    downloaded), a checkpoint directory or a GGUF file; None loads the default model. The other
    keyword arguments are vLLM's engine arguments (max_model_len, max_num_seqs, enable_lora,
    kv_cache_memory, dtype, tokenizer, …), read as `vllm serve` reads its flags."""

    def __init__(self, model: Optional[str] = None, *, seed: Optional[int] = None, **kwargs):
        if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool) and -(2 ** 63) <= seed < 2 ** 63):
            raise ValueError(f"seed must be a 64-bit signed integer, got {seed!r}")
        argv = [] if model is None else ["--model", str(model)]
        for key, value in kwargs.items():
            if key not in _NO_OP:
                argv += _flags(key, value)
        self._engine = _lib.Engine(argv, seed)
        self._info = self._engine.call("info", {})
        self._counter = itertools.count()
        self._tokenizer = None

    def get_tokenizer(self):
        if self._tokenizer is None:
            from .tokenizer import Tokenizer
            self._tokenizer = Tokenizer(self._engine, self._info)
        return self._tokenizer

    def get_default_sampling_params(self) -> SamplingParams:
        fields = self._engine.call("default_sampling_params", {})
        known = SamplingParams.__dataclass_fields__
        return SamplingParams(**{k: v for k, v in fields.items() if k in known and v is not None})

    def generate(self, prompts, sampling_params: Union[SamplingParams, Sequence[SamplingParams], None] = None,
                 use_tqdm: bool = True, lora_request: Union[LoRARequest, Sequence[Optional[LoRARequest]], None] = None,
                 priority=None) -> list:
        items = _prompts(prompts)
        return self._generate(items, sampling_params, use_tqdm, lora_request)

    def _generate(self, items, sampling_params, use_tqdm, lora_request, labels=None):
        if sampling_params is None:
            sampling_params = self.get_default_sampling_params()
        params = list(sampling_params) if isinstance(sampling_params, (list, tuple)) else [sampling_params]
        if not all(isinstance(p, SamplingParams) for p in params):
            raise TypeError("sampling_params must be a SamplingParams or a list of them")
        if len(params) not in (1, len(items)):
            raise ValueError("The lengths of prompts and sampling_params must be the same.")
        loras = list(lora_request) if isinstance(lora_request, (list, tuple)) else ([] if lora_request is None else [lora_request])
        if not all(l is None or isinstance(l, LoRARequest) for l in loras):
            raise TypeError("lora_request must be a LoRARequest or a list of them")
        if len(loras) not in (0, 1, len(items)):
            raise ValueError("The lengths of prompts and lora_request must be the same.")
        if not items:
            return []
        request = {"prompts": items, "params": [json.dumps(p.to_json()) for p in params],
                   "lora_requests": [None if l is None else l.to_json() for l in loras]}
        data = self._call("generate", request, _Progress(len(items), "Processed prompts") if use_tqdm else None)
        return [RequestOutput.from_engine(str(next(self._counter)), d,
                                          loras[0] if len(loras) == 1 else (loras[i] if loras else None))
                for i, d in enumerate(data)]

    def _call(self, method, request, bar):
        if bar is None:
            return self._engine.call(method, request)
        completed = False
        try:
            data = self._engine.call(method, request, bar.update)
            completed = True
            return data
        finally:
            bar.close(completed)

    def chat(self, messages, sampling_params=None, use_tqdm: bool = True, lora_request=None, chat_template=None,
             chat_template_content_format="auto", add_generation_prompt: bool = True,
             continue_final_message: bool = False, tools=None, chat_template_kwargs=None, mm_processor_kwargs=None) -> list:
        """One conversation (a list of messages) or several (a list of lists), rendered through the
        chat template and generated."""
        conversations = [messages] if messages and isinstance(messages[0], dict) else list(messages)
        bodies = [json.dumps({"messages": c, "tools": tools, "chat_template_kwargs": chat_template_kwargs})
                  for c in conversations]
        texts = self._engine.call("chat_prompts", {"conversations": bodies, "chat_template": chat_template,
                                                   "add_generation_prompt": add_generation_prompt,
                                                   "continue_final_message": continue_final_message})
        tokenizer = self.get_tokenizer()
        items = [{"prompt": t, "prompt_token_ids": tokenizer.encode(t, add_special_tokens=False)} for t in texts]
        return self._generate(items, sampling_params, use_tqdm, lora_request)

    def beam_search(self, prompts, params: BeamSearchParams, lora_request=None, use_tqdm: bool = False,
                    concurrency_limit=None) -> list:
        if not isinstance(params, BeamSearchParams):
            raise TypeError("params must be a BeamSearchParams")
        if lora_request is not None:
            raise ValueError("beam search with a LoRA adapter is not supported.")
        items = _prompts(prompts)
        request = {"prompts": items, "params": {k: getattr(params, k) for k in
                                                ("beam_width", "max_tokens", "ignore_eos", "temperature", "length_penalty")}}
        data = self._call("beam_search", request, _Progress(len(items), "Beam search") if use_tqdm else None)
        return [BeamSearchOutput(sequences=[BeamSearchSequence(tokens=s["tokens"], logprobs=[], cum_logprob=s["cum_logprob"],
                                                               text=s["text"], finish_reason=s["finish_reason"])
                                            for s in d["sequences"]])
                for d in data]

"""vLLM's SamplingParams and BeamSearchParams: the same fields, defaults and checks (the engine's
own, so the messages are the ones the server gives)."""
import dataclasses
import enum
from typing import Any, Optional, Union

from . import _lib


class RequestOutputKind(enum.Enum):
    CUMULATIVE = 0
    DELTA = 1
    FINAL_ONLY = 2


@dataclasses.dataclass
class StructuredOutputsParams:
    """vLLM's structured-output constraint: exactly one of these."""
    json: Optional[Union[str, dict]] = None
    regex: Optional[str] = None
    choice: Optional[list] = None
    grammar: Optional[str] = None
    json_object: Optional[bool] = None
    structural_tag: Optional[str] = None
    disable_any_whitespace: bool = False

    def to_json(self):
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, False)}


# vLLM 0.11 names older releases' GuidedDecodingParams this way.
GuidedDecodingParams = StructuredOutputsParams


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return _is_int(v) or isinstance(v, float)


# What each field holds; a value of another type is a TypeError naming the field. None is
# accepted where vLLM's default is None.
_KINDS = {
    "int": ("an int", _is_int),
    "number": ("a number", _is_number),
    "bool": ("a bool", lambda v: isinstance(v, bool)),
    "str list": ("a str or a list of str", lambda v: isinstance(v, str) or (isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v))),
    "int list": ("a list of int", lambda v: isinstance(v, (list, tuple)) and all(_is_int(x) for x in v)),
    "bias": ("a dict of token id to number", lambda v: isinstance(v, dict) and all(_is_int(k) or (isinstance(k, str) and k.lstrip("-").isdigit()) for k in v) and all(_is_number(x) for x in v.values())),
    "early stopping": ("a bool or 'never'", lambda v: isinstance(v, bool) or v == "never"),
}
_FIELD_KINDS = {
    "n": "int", "best_of": "int", "presence_penalty": "number", "frequency_penalty": "number",
    "repetition_penalty": "number", "temperature": "number", "top_p": "number", "top_k": "int", "min_p": "number",
    "seed": "int", "stop": "str list", "stop_token_ids": "int list", "bad_words": "str list", "ignore_eos": "bool",
    "max_tokens": "int", "min_tokens": "int", "logprobs": "int", "prompt_logprobs": "int", "detokenize": "bool",
    "skip_special_tokens": "bool", "spaces_between_special_tokens": "bool", "include_stop_str_in_output": "bool",
    "truncate_prompt_tokens": "int", "logit_bias": "bias", "allowed_token_ids": "int list", "use_beam_search": "bool",
    "length_penalty": "number", "early_stopping": "early stopping",
}


def _check_kind(name, value, kind):
    what, ok = _KINDS[kind]
    if value is not None and not ok(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")


@dataclasses.dataclass
class SamplingParams:
    n: int = 1
    best_of: Optional[int] = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: Optional[int] = None
    stop: Optional[Union[str, list]] = None
    stop_token_ids: Optional[list] = None
    bad_words: Optional[list] = None
    ignore_eos: bool = False
    max_tokens: Optional[int] = 16
    min_tokens: int = 0
    logprobs: Optional[int] = None
    prompt_logprobs: Optional[int] = None
    detokenize: bool = True
    skip_special_tokens: bool = True
    spaces_between_special_tokens: bool = True
    logits_processors: Optional[Any] = None
    include_stop_str_in_output: bool = False
    truncate_prompt_tokens: Optional[int] = None
    output_kind: RequestOutputKind = RequestOutputKind.CUMULATIVE
    structured_outputs: Optional[StructuredOutputsParams] = None
    logit_bias: Optional[dict] = None
    allowed_token_ids: Optional[list] = None
    extra_args: Optional[dict] = None
    # Older vLLM releases' beam search through SamplingParams (temperature 0, best_of beams).
    use_beam_search: bool = False
    length_penalty: float = 1.0
    early_stopping: Union[bool, str] = False

    def __post_init__(self):
        for name, kind in _FIELD_KINDS.items():
            _check_kind(name, getattr(self, name), kind)
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = list(self.stop or [])
        self.stop_token_ids = list(self.stop_token_ids or [])
        self.bad_words = list(self.bad_words or [])
        if self.logits_processors:
            raise ValueError("logits_processors are not supported by this engine (it runs no Python per token).")
        if not isinstance(self.output_kind, RequestOutputKind):
            raise TypeError(f"output_kind must be a RequestOutputKind, got {self.output_kind!r}")
        _lib.check_sampling_params(self.to_json())

    @classmethod
    def from_optional(cls, **kwargs):
        return cls(**{k: v for k, v in kwargs.items() if v is not None})

    def clone(self):
        return dataclasses.replace(self)

    def to_json(self):
        """The engine's JSON form (vLLM's field names)."""
        skip = {"logits_processors", "output_kind", "extra_args", "structured_outputs"}
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        if fields["logit_bias"] is not None:
            fields["logit_bias"] = {str(k): v for k, v in fields["logit_bias"].items()}
        if self.structured_outputs is not None:
            so = self.structured_outputs
            fields["structured_outputs"] = so.to_json() if isinstance(so, StructuredOutputsParams) else so
        return fields


@dataclasses.dataclass
class BeamSearchParams:
    beam_width: int
    max_tokens: int
    ignore_eos: bool = False
    temperature: float = 0.0
    length_penalty: float = 1.0
    include_stop_str_in_output: bool = False

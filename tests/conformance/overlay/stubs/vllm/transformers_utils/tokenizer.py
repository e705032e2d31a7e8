import os

from transformers import AutoTokenizer


def get_tokenizer(tokenizer_name=None, *args, **kwargs):
    """The default model's tokenizer, whatever model the test names (the server serves every
    name from the default model)."""
    return AutoTokenizer.from_pretrained(os.environ["SWIFT_VLLM_DEFAULT_TOKENIZER"])

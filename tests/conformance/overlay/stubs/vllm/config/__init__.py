import os


class ModelConfig:
    """Only the vocabulary size, of the default model that serves every name."""

    def __init__(self, model=None, **kwargs):
        self.model = model

    def get_vocab_size(self) -> int:
        return int(os.environ["SWIFT_VLLM_DEFAULT_VOCAB_SIZE"])

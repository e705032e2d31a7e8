# In place of vLLM's (audio fixtures). The LoRA adapter the tests load as "zephyr-lora" is one
# made for the default model (tests/lora/make_adapters.py); the hub's is for another model.
import os

import pytest


@pytest.fixture(scope="session")
def zephyr_lora_files():
    return os.environ["SWIFT_VLLM_LORA_ADAPTER"]

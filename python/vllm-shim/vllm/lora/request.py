from swift_vllm.lora import LoRARequest  # noqa: F401

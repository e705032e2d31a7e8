"""`vllm` for scripts written against vLLM, served by swift_vllm (installed only by the shim, and
found only when no real vLLM is installed)."""
from swift_vllm import *  # noqa: F401,F403
from swift_vllm import __all__, __version__  # noqa: F401
from .inputs import TextPrompt, TokensPrompt  # noqa: F401

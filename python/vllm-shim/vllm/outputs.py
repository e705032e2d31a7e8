from swift_vllm.outputs import *  # noqa: F401,F403

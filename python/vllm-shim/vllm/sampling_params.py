from swift_vllm.sampling_params import *  # noqa: F401,F403

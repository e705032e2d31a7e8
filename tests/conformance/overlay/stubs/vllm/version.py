# The vLLM version whose server API swift-vllm follows, which its `/version` reports.
__version__ = "0.11.0"
__version_tuple__ = (0, 11, 0)


def _prev_minor_version():
    return "0.10"

class BaseRenderer:
    """vLLM's in-process prompt renderer; its tests exercise vLLM's Python internals, not the
    server, and fail against this stand-in."""

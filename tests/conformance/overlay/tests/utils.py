"""Stands in for vLLM's `tests/utils.py` when vLLM's OpenAI-server tests run against our server.

`RemoteOpenAIServer` keeps the interface the test files use (constructor arguments, `url_for`,
`get_client`, `get_async_client`, `proc`, `uds`, `show_hidden_metrics`, context manager) and
starts our binary instead: every model name is served from the default model (passed as
`--served-model-name`), and the flags our `vllm serve` does not know are dropped and logged to
the file the harness reads back (`SWIFT_VLLM_DROPPED_FLAGS`).
"""
import functools
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
from typing import Any, Optional

import httpx
import openai
import requests

VLLM_PATH = pathlib.Path(__file__).parent.parent
BINARY = os.environ["SWIFT_VLLM_BINARY"]
DEFAULT_MODEL = os.environ["SWIFT_VLLM_DEFAULT_MODEL"]
DROPPED_LOG = os.environ.get("SWIFT_VLLM_DROPPED_FLAGS")

# vLLM flags whose value names another model or hub file: the default model serves every name.
MODEL_VALUED = {"--tokenizer", "--hf-overrides", "--revision", "--tokenizer-revision", "--code-revision"}


@functools.cache
def known_flags() -> frozenset:
    text = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True).stdout
    return frozenset(re.findall(r"--[a-z0-9][a-z0-9-]*", text))


def translate(args: list) -> tuple:
    """Our `vllm serve` arguments for vLLM's, and the vLLM-only flags dropped."""
    kept, dropped, i = [], [], 0
    while i < len(args):
        arg = str(args[i])
        name = arg.split("=", 1)[0]
        takes_value = "=" not in arg and i + 1 < len(args) and not str(args[i + 1]).startswith("--")
        span = [arg, str(args[i + 1])] if takes_value else [arg]
        if name.startswith("--") and (name in MODEL_VALUED or name not in known_flags()):
            dropped.append(" ".join(span))
        else:
            kept += span
        i += len(span)
    return kept, dropped


def get_open_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteOpenAIServer:
    DUMMY_API_KEY = "token-abc123"

    def __init__(self, model: str, vllm_serve_args: list, *, env_dict: Optional[dict] = None,
                 seed: Optional[int] = 0, auto_port: bool = True, max_wait_seconds: Optional[float] = None,
                 override_hf_configs: Optional[dict] = None) -> None:
        args = [str(a) for a in vllm_serve_args]
        if auto_port:
            if "-p" in args or "--port" in args:
                raise ValueError("You have manually specified the port when `auto_port=True`.")
            if "--uds" not in args:
                args += ["--port", str(get_open_port())]
        if seed is not None:
            if "--seed" in args:
                raise ValueError(f"You have manually specified the seed when `seed={seed}`.")
            args += ["--seed", str(seed)]
        self.uds = self._value(args, "--uds")
        self.host = None if self.uds else (self._value(args, "--host") or "localhost")
        self.port = None if self.uds else int(self._value(args, "--port") or 8000)
        self.show_hidden_metrics = self._value(args, "--show-hidden-metrics-for-version") is not None

        kept, dropped = translate(args)
        if DROPPED_LOG and dropped:
            with open(DROPPED_LOG, "a") as f:
                f.write(json.dumps({"model": model, "dropped": dropped}) + "\n")
        names = [] if "--served-model-name" in kept else ["--served-model-name", model]
        env = {**os.environ, **(env_dict or {})}
        self.proc = subprocess.Popen([BINARY, "serve", "--model", DEFAULT_MODEL, *names, *kept],
                                     env=env, stdout=sys.stdout, stderr=sys.stderr)
        self._wait_for_server(url=self.url_for("health"), timeout=max_wait_seconds or 240)

    @staticmethod
    def _value(args: list, flag: str) -> Optional[str]:
        for i, a in enumerate(args):
            if a == flag and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
        return None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.proc.terminate()
        try:
            self.proc.wait(8)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def _wait_for_server(self, *, url: str, timeout: float):
        start = time.time()
        client = httpx.Client(transport=httpx.HTTPTransport(uds=self.uds)) if self.uds else requests
        while True:
            try:
                if client.get(url).status_code == 200:
                    return
            except Exception:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("Server exited unexpectedly.")
            if time.time() - start > timeout:
                raise RuntimeError("Server failed to start in time.")
            time.sleep(0.2)

    @property
    def url_root(self) -> str:
        return f"http://{self.uds.split('/')[-1]}" if self.uds else f"http://{self.host}:{self.port}"

    def url_for(self, *parts: str) -> str:
        return self.url_root + "/" + "/".join(parts)

    def get_client(self, **kwargs):
        kwargs.setdefault("timeout", 600)
        return openai.OpenAI(base_url=self.url_for("v1"), api_key=self.DUMMY_API_KEY, max_retries=0, **kwargs)

    def get_async_client(self, **kwargs):
        kwargs.setdefault("timeout", 600)
        return openai.AsyncOpenAI(base_url=self.url_for("v1"), api_key=self.DUMMY_API_KEY, max_retries=0, **kwargs)

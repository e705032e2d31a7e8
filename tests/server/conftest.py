"""Starts the real `vllm serve` on a free loopback port for a test module."""
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


class Server:
    """A `vllm serve` process; `url` is its base address once it answers /health."""

    def __init__(self, *args, env=None):
        self.log = []
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--host", "127.0.0.1", "--port", "0", "--max-model-len", "1024",
             "--kv-cache-memory", "256MiB", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
        port = None
        ready = threading.Event()

        def pump():
            nonlocal port
            for line in self.proc.stdout:
                self.log.append(line)
                m = re.search(r"Serving .* on http://[^:]+:(\d+)", line)
                if m and port is None:
                    port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(120)
        assert port, "server did not start:\n" + "".join(self.log)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("server never became healthy:\n" + "".join(self.log))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def metric(url, name):
    """The value of an unlabelled-or-single-series metric from /metrics."""
    text = requests.get(url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def metric_values(url, name):
    """Every series of a metric (one per data-parallel replica)."""
    text = requests.get(url + "/metrics", timeout=10).text
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " ")]


def assert_idle(url, timeout=30):
    """Waits until no request runs and no KV block is held on any replica, then asserts it
    (nothing leaked)."""
    names = ["vllm:num_requests_running", "vllm:kv_cache_usage_perc", "vllm:num_requests_waiting"]
    deadline = time.time() + timeout
    while time.time() < deadline and any(v != 0 for n in names for v in metric_values(url, n)):
        time.sleep(0.2)
    for n in names:
        values = metric_values(url, n)
        assert values and all(v == 0 for v in values), (n, values)
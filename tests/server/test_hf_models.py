"""`vllm serve ORG/NAME` from the Hugging Face hub cache: the tiny Qwen2 checkpoint
(Tests/Fixtures/tiny-models) laid out as huggingface_hub lays out a download (blobs, snapshot
links, refs/main), served and driven by the real `openai` client."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import requests

from conftest import ROOT, Server, BINARY
import subprocess

TINY = ROOT / "Tests/Fixtures/tiny-models"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_cache(root: Path, repo: str, source: Path, commit=COMMIT, ref="main"):
    """huggingface_hub's layout: blobs named by content hash, relative snapshot links, a ref."""
    d = root / ("models--" + repo.replace("/", "--"))
    (d / "blobs").mkdir(parents=True, exist_ok=True)
    (d / "snapshots" / commit).mkdir(parents=True, exist_ok=True)
    (d / "refs").mkdir(exist_ok=True)
    for f in source.iterdir():
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, d / "blobs" / digest)
        os.symlink(f"../../blobs/{digest}", d / "snapshots" / commit / f.name)
    (d / "refs" / ref).write_text(commit)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    make_cache(root, "tiny-org/qwen2-tiny", TINY / "qwen2/hf")
    return root


@pytest.fixture(scope="module")
def served(hub):
    s = Server("tiny-org/qwen2-tiny", "--max-model-len", "256", env={"HF_HUB_CACHE": str(hub)})
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def test_models_lists_the_repo_id(served):
    ids = [m["id"] for m in requests.get(served.url + "/v1/models", timeout=10).json()["data"]]
    assert ids == ["tiny-org/qwen2-tiny"]


def test_chat_through_the_checkpoints_tokenizer_and_template(served):
    from openai import OpenAI
    client = OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=60)
    r = client.chat.completions.create(model="tiny-org/qwen2-tiny", max_tokens=6, temperature=0,
                                       messages=[{"role": "user", "content": "The quick brown fox"}])
    assert r.usage.completion_tokens >= 1 and r.choices[0].finish_reason in ("stop", "length")
    # The ChatML template from tokenizer_config.json / chat_template.jinja was applied: the
    # prompt holds its special tokens (one token each in this vocabulary).
    tok = requests.post(served.url + "/tokenize", json={"model": "tiny-org/qwen2-tiny",
                        "messages": [{"role": "user", "content": "hi"}]}, timeout=10).json()
    assert tok["tokens"][0] == 1  # <|im_start|>


def test_greedy_completion_is_deterministic(served):
    body = {"model": "tiny-org/qwen2-tiny", "prompt": "continuous batching", "max_tokens": 8, "temperature": 0}
    a = requests.post(served.url + "/v1/completions", json=body, timeout=60).json()
    b = requests.post(served.url + "/v1/completions", json=body, timeout=60).json()
    assert a["choices"][0]["text"] == b["choices"][0]["text"] and a["usage"]["completion_tokens"] == 8


def test_missing_repo_is_one_clear_line(hub):
    p = subprocess.run([BINARY, "generate", "--model", "tiny-org/not-there", "--prompt", "hi"], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1"})
    assert p.returncode != 0 and "tiny-org/not-there" in p.stderr and "HF_HUB_OFFLINE is set" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_revision_by_branch_and_unknown_revision(hub):
    make_cache(hub, "tiny-org/qwen3-tiny", TINY / "qwen3/hf", commit="f" * 40, ref="v1")
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run([BINARY, "generate", "--model", "tiny-org/qwen3-tiny", "--revision", "v1", "--max-model-len", "64",
                         "--prompt", "hi", "--max-tokens", "3", "--temperature", "0"],
                        capture_output=True, text=True, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([BINARY, "generate", "--model", "tiny-org/qwen3-tiny", "--prompt", "hi"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode != 0 and "revision main" in bad.stderr, bad.stderr


class FakeHub:
    """The hub's HTTP API for one repo on loopback: the revision listing, then each file at
    /{repo}/resolve/{commit}/{name} (HEAD and GET, Range), LFS files (safetensors) named by their
    sha256 as the real hub names them, others by a git-style hash."""

    def __init__(self, repo, source: Path, commit=COMMIT):
        import http.server
        import threading
        files = {f.name: f.read_bytes() for f in source.iterdir()}
        self.requests = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, body_wanted):
                hub.requests.append((self.command, self.path))
                if self.path.startswith(f"/api/models/{repo}/revision/"):
                    body = json.dumps({"sha": commit, "siblings": [{"rfilename": n} for n in sorted(files)]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body_wanted:
                        self.wfile.write(body)
                    return
                prefix = f"/{repo}/resolve/"
                if not self.path.startswith(prefix):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                name = self.path[len(prefix):].split("/", 1)[1]
                data = files[name]
                start = 0
                if "Range" in self.headers:
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", commit)
                if name.endswith(".safetensors"):
                    digest = hashlib.sha256(data).hexdigest()
                    self.send_header("X-Linked-Etag", f'"{digest}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("ETag", f'"{digest}"')
                else:
                    self.send_header("ETag", f'"{hashlib.sha1(b"blob %d" % len(data) + bytes(1) + data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if body_wanted:
                    self.wfile.write(data[start:])

            def do_HEAD(self):
                self.answer(False)

            def do_GET(self):
                self.answer(True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_serve_downloads_a_missing_repo_into_the_cache(tmp_path):
    hub = FakeHub("dl-org/llama-tiny", TINY / "llama/hf")
    cache = tmp_path / "cache"
    try:
        s = Server("dl-org/llama-tiny", "--max-model-len", "256",
                   env={"HF_HUB_CACHE": str(cache), "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})
        try:
            r = requests.post(s.url + "/v1/completions", json={"model": "dl-org/llama-tiny", "prompt": "The quick brown",
                              "max_tokens": 4, "temperature": 0}, timeout=60).json()
            assert r["usage"]["completion_tokens"] == 4
        finally:
            assert s.stop() == 0, "".join(s.log[-30:])
        # The layout Python's huggingface_hub writes: blobs, snapshot links, refs/main.
        d = cache / "models--dl-org--llama-tiny"
        assert (d / "refs/main").read_text().strip() == COMMIT
        shard = next((d / "snapshots" / COMMIT).glob("*.safetensors"))
        assert shard.is_symlink() and not os.path.isabs(os.readlink(shard))
        # A second start finds it in the cache and asks the hub nothing.
        before = len(hub.requests)
        again = subprocess.run([BINARY, "generate", "--model", "dl-org/llama-tiny", "--max-model-len", "256",
                                "--prompt", "hi", "--max-tokens", "2"], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "HF_HUB_CACHE": str(cache), "HF_ENDPOINT": hub.url})
        assert again.returncode == 0, again.stderr
        assert len(hub.requests) == before
    finally:
        hub.close()

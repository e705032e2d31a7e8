"""`vllm serve ORG/NAME` from the Hugging Face hub cache: the tiny Qwen2 checkpoint
(Tests/Fixtures/tiny-models) laid out as huggingface_hub lays out a download (blobs, snapshot
links, refs/main), served and driven by the real `openai` client."""
import hashlib
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
    p = subprocess.run([BINARY, "generate", "--model", "tiny-org/not-there", "--prompt", "hi"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "HF_HUB_CACHE": str(hub)})
    assert p.returncode != 0 and "tiny-org/not-there" in p.stderr and "not in the Hugging Face cache" in p.stderr, p.stderr


def test_revision_by_branch_and_unknown_revision(hub):
    make_cache(hub, "tiny-org/qwen3-tiny", TINY / "qwen3/hf", commit="f" * 40, ref="v1")
    env = {**os.environ, "HF_HUB_CACHE": str(hub)}
    ok = subprocess.run([BINARY, "generate", "--model", "tiny-org/qwen3-tiny", "--revision", "v1", "--max-model-len", "64",
                         "--prompt", "hi", "--max-tokens", "3", "--temperature", "0"],
                        capture_output=True, text=True, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([BINARY, "generate", "--model", "tiny-org/qwen3-tiny", "--prompt", "hi"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode != 0 and "revision main" in bad.stderr, bad.stderr

"""vLLM's optional server features, each behind its flag: --root-path, --enable-request-id-headers,
--enable-server-load-tracking (/load), --enable-tokenizer-info-endpoint, --enable-sleep-mode,
--uds, --load-format dummy; and the routes every server has: /invocations, /version."""
import http.client
import json
import math
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import BINARY, Server, assert_idle

FLAGS = ["--root-path", "/llm", "--enable-request-id-headers", "--enable-server-load-tracking",
         "--enable-tokenizer-info-endpoint", "--enable-sleep-mode", "--seed", "0"]


@pytest.fixture(scope="module")
def server():
    s = Server(*FLAGS)
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def rss_anon_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon")


def test_version_is_the_vllm_api_followed():
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True).stdout
    assert "0.11.0" in out and "swift-vllm" in out


def test_routes_answer_with_and_without_the_root_path(server):
    for prefix in ("", "/llm"):
        assert requests.get(server.url + prefix + "/version").json() == {"version": "0.11.0"}
        r = requests.post(server.url + prefix + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2})
        assert r.status_code == 200, r.text
    # A prefix that only starts like the root path is not stripped.
    assert requests.get(server.url + "/llmx/version").status_code == 404


def test_request_id_headers(server):
    r = requests.get(server.url + "/health")
    assert len(r.headers["X-Request-Id"]) == 32 and int(r.headers["X-Request-Id"], 16) >= 0
    assert requests.get(server.url + "/health", headers={"X-Request-Id": "mine-1"}).headers["X-Request-Id"] == "mine-1"
    # Errors carry it too.
    r = requests.get(server.url + "/nowhere", headers={"X-Request-Id": "mine-2"})
    assert r.status_code == 404 and r.headers["X-Request-Id"] == "mine-2"


def test_load_counts_requests_until_their_response_ends(server):
    assert requests.get(server.url + "/load").json() == {"server_load": 0}
    done = threading.Event()

    def stream():
        with requests.post(server.url + "/v1/completions", stream=True,
                           json={"prompt": "Tell a story", "max_tokens": 200, "stream": True, "ignore_eos": True}) as r:
            for _ in r.iter_lines():
                pass
        done.set()

    threading.Thread(target=stream).start()
    seen = []
    while not done.is_set():
        seen.append(requests.get(server.url + "/load").json()["server_load"])
        time.sleep(0.02)
    assert 1 in seen and max(seen) == 1
    time.sleep(0.1)
    assert requests.get(server.url + "/load").json() == {"server_load": 0}


def test_tokenizer_info(server):
    info = requests.get(server.url + "/tokenizer_info").json()
    assert info["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert info["eos_token"] == "<|im_end|>" and info["bos_token"] == "<|im_start|>"
    assert info["added_tokens_decoder"]["2"] == {"content": "<|im_end|>", "lstrip": False, "normalized": False,
                                                 "rstrip": False, "single_word": False, "special": True}
    assert info["model_max_length"] >= 1024 and "{% for message in messages %}" in info["chat_template"]


def test_invocations_routes_by_the_body(server):
    chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0}
    direct = requests.post(server.url + "/v1/chat/completions", json=chat).json()
    routed = requests.post(server.url + "/invocations", json=chat).json()
    assert routed["object"] == "chat.completion" and routed["choices"] == direct["choices"]
    completion = requests.post(server.url + "/invocations", json={"prompt": "Hi", "max_tokens": 3, "temperature": 0}).json()
    assert completion["object"] == "text_completion"
    r = requests.post(server.url + "/invocations", json={"input": "Hi"})
    assert r.status_code == 400 and "Cannot find suitable handler" in r.json()["error"]["message"]


def test_sleep_releases_the_kv_cache_and_wakes_by_tags(server):
    # Fill KV pages: a long prompt, then sleep; the process gives those pages back.
    prompt = "The quick brown fox jumps over the lazy dog. " * 80
    r = requests.post(server.url + "/v1/completions", json={"prompt": prompt, "max_tokens": 1})
    assert r.status_code == 200
    assert_idle(server.url)
    before = rss_anon_kb(server.proc.pid)
    assert requests.post(server.url + "/sleep", params={"level": "1"}).status_code == 200
    after = rss_anon_kb(server.proc.pid)
    assert before - after > 1000, (before, after)
    assert requests.get(server.url + "/is_sleeping").json() == {"is_sleeping": True}
    r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2})
    assert r.status_code == 503 and "sleeping" in r.json()["error"]["message"]
    assert requests.post(server.url + "/wake_up", params={"tags": ["weights"]}).status_code == 200
    assert requests.get(server.url + "/is_sleeping").json() == {"is_sleeping": True}
    assert requests.post(server.url + "/wake_up", params={"tags": ["bogus"]}).status_code == 400
    assert requests.post(server.url + "/wake_up", params={"tags": ["kv_cache"]}).status_code == 200
    assert requests.get(server.url + "/is_sleeping").json() == {"is_sleeping": False}
    # Awake again, with the same answers as before (the prefix cache was emptied, not corrupted).
    again = requests.post(server.url + "/v1/completions", json={"prompt": prompt, "max_tokens": 8, "temperature": 0}).json()
    fresh = requests.post(server.url + "/v1/completions", json={"prompt": prompt, "max_tokens": 8, "temperature": 0}).json()
    assert again["choices"][0]["text"] == fresh["choices"][0]["text"]
    assert requests.post(server.url + "/sleep", params={"level": "3"}).status_code == 400
    assert_idle(server.url)


def test_sleep_is_refused_while_requests_run(server):
    def stream():
        requests.post(server.url + "/v1/completions", json={"prompt": "Go", "max_tokens": 150, "ignore_eos": True})

    t = threading.Thread(target=stream)
    t.start()
    time.sleep(0.3)
    r = requests.post(server.url + "/sleep")
    t.join()
    assert r.status_code == 400 and "in flight" in r.json()["error"]["message"]
    assert requests.get(server.url + "/is_sleeping").json() == {"is_sleeping": False}


def test_routes_off_without_their_flags():
    s = Server()
    try:
        for path in ("/load", "/tokenizer_info", "/is_sleeping"):
            assert requests.get(s.url + path).status_code == 404, path
        assert "X-Request-Id" not in requests.get(s.url + "/health").headers
    finally:
        assert s.stop() == 0


def test_unix_socket(tmp_path):
    sock = tmp_path / "vllm.sock"
    proc = subprocess.Popen([BINARY, "serve", "--uds", str(sock), "--max-model-len", "256", "--kv-cache-memory", "64MiB"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not sock.exists() and time.time() < deadline:
            time.sleep(0.1)
        conn = http.client.HTTPConnection("localhost", timeout=60)
        conn.sock = socket.socket(socket.AF_UNIX)
        conn.sock.connect(str(sock))
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "Hi", "max_tokens": 2}),
                     {"Content-Type": "application/json"})
        assert json.loads(conn.getresponse().read())["usage"]["completion_tokens"] == 2
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, proc.stderr.read()


def test_dummy_weights_keep_the_tokenizer_and_give_uniform_logprobs():
    # --load-format dummy: the model's shapes and tokenizer, every weight zero, so every token
    # is equally likely: logprob -ln(vocabulary size).
    s = Server("--load-format", "dummy")
    try:
        ids = requests.post(s.url + "/tokenize", json={"prompt": "Hello world"}).json()["tokens"]
        assert ids == [19556, 905]
        r = requests.post(s.url + "/v1/completions", json={"prompt": "Hello", "max_tokens": 2, "logprobs": 1,
                                                           "temperature": 0, "ignore_eos": True}).json()
        assert all(abs(lp + math.log(49152)) < 1e-4 for lp in r["choices"][0]["logprobs"]["token_logprobs"]), r
    finally:
        assert s.stop() == 0

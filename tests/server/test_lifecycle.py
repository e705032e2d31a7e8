"""API keys, client disconnects, graceful shutdown and command-line checks, each on its own server."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import BINARY, MODEL, Server, assert_idle


@pytest.fixture(scope="module")
def keyed():
    s = Server("--api-key", "sk-right", "--served-model-name", "smol", "smol-alias")
    yield s
    assert s.stop() == 0


def test_api_key_guards_v1_routes(keyed):
    from openai import OpenAI, AuthenticationError
    url = keyed.url
    assert requests.get(url + "/v1/models").status_code == 401
    r = requests.get(url + "/v1/models", headers={"Authorization": "Bearer sk-wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == 401
    assert requests.post(url + "/v1/completions", json={"prompt": "Hi"}).status_code == 401
    assert requests.get(url + "/health").status_code == 200
    assert requests.get(url + "/metrics").status_code == 200
    # /tokenize renders templates: it needs the key too.
    assert requests.post(url + "/tokenize", json={"prompt": "Hi"}).status_code == 401
    assert requests.post(url + "/detokenize", json={"tokens": [1]}).status_code == 401
    assert requests.post(url + "/tokenize", json={"prompt": "Hi"}, headers={"Authorization": "Bearer sk-right"}).status_code == 200
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=url + "/v1", api_key="sk-wrong", max_retries=0).models.list()
    ok = OpenAI(base_url=url + "/v1", api_key="sk-right", max_retries=0)
    assert [m.id for m in ok.models.list().data] == ["smol", "smol-alias"]
    r = ok.completions.create(model="smol-alias", prompt="Hi", max_tokens=2)
    assert r.usage.completion_tokens == 2 and r.model == "smol"


def test_api_key_from_environment():
    s = Server(env={"VLLM_API_KEY": "sk-env"})
    try:
        assert requests.get(s.url + "/v1/models").status_code == 401
        assert requests.get(s.url + "/v1/models", headers={"Authorization": "Bearer sk-env"}).status_code == 200
    finally:
        assert s.stop() == 0


def cut_stream(url, headers, body, after_events=2):
    """Starts a streaming request over a raw socket, reads a few events, then drops the connection."""
    host, port = url.removeprefix("http://").split(":")
    payload = __import__("json").dumps(body).encode()
    s = socket.create_connection((host, int(port)), timeout=60)
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers +
              b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    seen = b""
    while seen.count(b"data: ") < after_events:
        chunk = s.recv(4096)
        if not chunk:
            break
        seen += chunk
    s.close()
    return seen


def test_disconnects_abort_and_free_kv_blocks(keyed):
    auth = b"Authorization: Bearer sk-right\r\n"
    body = {"prompt": "Write a long story about a dragon.", "max_tokens": 500, "ignore_eos": True, "stream": True}
    threads = [threading.Thread(target=cut_stream, args=(keyed.url, auth, body)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert_idle(keyed.url)
    r = requests.post(keyed.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 3},
                      headers={"Authorization": "Bearer sk-right"}, timeout=60)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3


def test_sigterm_finishes_in_flight_requests_and_exits_0():
    s = Server()
    r = requests.post(s.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 16, "ignore_eos": True,
                                                       "stream": True, "stream_options": {"include_usage": True}},
                      stream=True, timeout=120)
    events = r.iter_lines(decode_unicode=True)
    first = next(e for e in events if e)
    assert first.startswith("data: {")
    # The request is in flight: shut down now; it must still run to the end.
    s.proc.send_signal(signal.SIGTERM)
    rest = [e for e in events if e]
    assert rest[-1] == "data: [DONE]"
    assert json.loads(rest[-2].removeprefix("data: "))["usage"]["completion_tokens"] == 16
    assert s.proc.wait(60) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(s.url + "/health", timeout=5)


def test_draining_answers_503_until_in_flight_requests_finish():
    """After SIGTERM the listener stays open while the engine drains: probes and load balancers
    see /health 503, a new generation request gets an OpenAI-style 503, the stream in flight
    runs to its end, and then the process exits 0."""
    s = Server()
    r = requests.post(s.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 300, "ignore_eos": True,
                                                       "stream": True}, stream=True, timeout=120)
    events = r.iter_lines(decode_unicode=True)
    assert next(e for e in events if e).startswith("data: {")
    assert requests.get(s.url + "/health", timeout=5).status_code == 200
    s.proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    while requests.get(s.url + "/health", timeout=5).status_code == 200:
        assert time.time() < deadline, "/health never turned 503"
        time.sleep(0.02)
    refused = requests.post(s.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2}, timeout=30)
    assert refused.status_code == 503
    assert refused.json()["error"] == {"message": "The server is shutting down.", "type": "ServiceUnavailableError",
                                       "param": None, "code": 503}
    rest = [e for e in events if e]
    assert rest[-1] == "data: [DONE]" and len(rest) == 300  # 299 more tokens, then [DONE]
    assert s.proc.wait(60) == 0
    assert any("Draining: 1 engine requests in flight" in line for line in s.log), "".join(s.log)


def test_json_log_format_writes_one_object_per_line():
    s = Server("--log-format", "json")
    requests.post(s.url + "/v1/completions", json={"prompt": "Hi \"there\"\n", "max_tokens": 2}, timeout=60)
    assert s.stop() == 0
    time.sleep(0.2)
    records = [json.loads(line) for line in s.log]
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records), s.log
    messages = [r["message"] for r in records]
    assert any(m.startswith("KV cache: ") for m in messages)  # the engine's own line
    assert any(m.startswith("Serving ") for m in messages)  # swift-log's
    [received] = [r for r in records if r["message"].startswith("Received request")]
    assert 'prompt: "Hi \\"there\\"\\n"' in received["message"] and received["source"] == "VLLMServer"
    assert time.strptime(records[0]["time"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_unknown_log_format_is_refused():
    p = subprocess.run([BINARY, "serve", "--log-format", "xml"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "xml" in p.stderr


def test_unknown_flag_is_named():
    p = subprocess.run([BINARY, "serve", "--no-such-flag"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--no-such-flag" in p.stderr


def test_unknown_tool_parser_is_refused():
    p = subprocess.run([BINARY, "serve", "--enable-auto-tool-choice", "--tool-call-parser", "nope"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "nope" in p.stderr


@pytest.mark.parametrize("flags,named", [
    (["--dtype", "float8"], "--dtype must be"),
    (["--pipeline-parallel-size", "0"], "--pipeline-parallel-size must be at least 1"),
    (["--data-parallel-size", "0"], "--data-parallel-size must be at least 1"),
    # The default model's 9 heads split over 3 ranks only (vLLM's words).
    (["--tensor-parallel-size", "4"], "must be divisible by tensor parallel size (4)"),
    (["--quantization", "awq"], "--quantization awq"),
    (["--load-format", "pt"], "--load-format pt"),
    (["--tokenizer", "/some/tokenizer"], "/some/tokenizer"),
    (["--uvicorn-log-level", "loud"], "loud"),
])
def test_vllm_flags_this_engine_cannot_honour_fail_at_start(flags, named):
    p = subprocess.run([BINARY, "serve", *flags], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and named in p.stderr, p.stderr


def test_habitual_vllm_flags_are_accepted_with_their_meaning():
    s = Server("--dtype", "auto", "--trust-remote-code", "--enforce-eager", "--load-format", "gguf",
               "--uvicorn-log-level", "debug", "--max-logprobs", "3")
    try:
        ok = requests.post(s.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2, "logprobs": 3}, timeout=60)
        assert ok.status_code == 200 and len(ok.json()["choices"][0]["logprobs"]["top_logprobs"][0]) >= 3
        too_many = requests.post(s.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2, "logprobs": 4}, timeout=60)
        assert too_many.status_code == 400 and "max allowed: 3" in too_many.json()["error"]["message"]
    finally:
        assert s.stop() == 0

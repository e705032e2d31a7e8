"""Hostile and careless clients: oversized bodies, stalled connections, a saturated queue,
fields we do not implement, oversized lists, log injection. Each gets a clear 4xx/503 and
the server keeps serving with nothing leaked."""
import concurrent.futures as cf
import socket
import time

import pytest
import requests

from conftest import Server, assert_idle


@pytest.fixture(scope="module")
def tight():
    s = Server("--max-request-body-bytes", "65536", "--max-waiting-requests", "2", "--max-num-seqs", "1",
               "--trust-request-chat-template", "--chat-template-timeout", "2",
               env={"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": "1"})
    yield s
    assert s.stop() == 0, "".join(s.log[-30:])


def error(r, status):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and set(err) == {"message", "type", "param", "code"}
    return err


def test_body_over_the_limit_is_413(tight):
    big = {"prompt": "x" * 70000, "max_tokens": 1}
    error(requests.post(tight.url + "/v1/completions", json=big, timeout=30), 413)
    # Without Content-Length (chunked), the limit holds while reading.
    chunks = (b'{"prompt": "' + b"y" * 10000 for _ in range(10))
    error(requests.post(tight.url + "/v1/completions", data=chunks, timeout=30,
                        headers={"Content-Type": "application/json"}), 413)
    error(requests.post(tight.url + "/tokenize", json=big, timeout=30), 413)


def test_stalled_connection_is_closed(tight):
    with socket.create_connection(("127.0.0.1", int(tight.url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        start = time.time()
        assert s.recv(1024) == b""  # closed by the server, headers never finished
        assert time.time() - start < 8


def test_saturated_queue_answers_503_with_retry_after(tight):
    body = {"prompt": "Once upon a time", "max_tokens": 40, "ignore_eos": True}
    with cf.ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: requests.post(tight.url + "/v1/completions", json=body, timeout=120), range(10)))
    codes = sorted(r.status_code for r in replies)
    assert set(codes) == {200, 503}, codes
    for r in replies:
        if r.status_code == 503:
            assert r.headers["Retry-After"] == "1"
            assert "--max-waiting-requests" in error(r, 503)["message"]
    assert_idle(tight.url)


def test_heavy_template_is_stopped_and_health_stays_up(tight):
    forever = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "chat_template": forever}
    with cf.ThreadPoolExecutor(3) as pool:
        heavy = [pool.submit(requests.post, tight.url + "/v1/chat/completions", json=body, timeout=60) for _ in range(3)]
        time.sleep(0.3)
        start = time.time()
        assert requests.get(tight.url + "/health", timeout=5).status_code == 200
        assert time.time() - start < 1
        for f in heavy:
            r = f.result()
            assert r.status_code == 400 and "time limit" in r.json()["error"]["message"], r.text


@pytest.mark.parametrize("path, extra, field", [
    ("/v1/chat/completions", {"structural_tag": "{}"}, "structural_tag"),
    ("/v1/completions", {"logits_processors": ["x"]}, "logits_processors"),
])
def test_unimplemented_vllm_fields_are_refused_by_name(server, path, extra, field):
    base = {"prompt": "Hi"} if path == "/v1/completions" else {"messages": [{"role": "user", "content": "Hi"}]}
    r = requests.post(server.url + path, json={**base, "max_tokens": 2, **extra}, timeout=30)
    assert error(r, 400)["param"] == field


def test_unknown_fields_are_ignored_and_logged(server):
    r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2, "frobnicate": 1}, timeout=30)
    assert r.status_code == 200
    time.sleep(0.2)
    assert any("ignored: frobnicate" in line for line in server.log)


def test_truncate_prompt_tokens_keeps_the_end(server):
    prompt = list(range(100, 140))
    r = requests.post(server.url + "/v1/completions",
                      json={"prompt": prompt, "max_tokens": 1, "truncate_prompt_tokens": 5, "temperature": 0}, timeout=30)
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == 5
    short = requests.post(server.url + "/v1/completions",
                          json={"prompt": prompt[-5:], "max_tokens": 1, "temperature": 0}, timeout=30)
    assert short.json()["choices"][0]["text"] == r.json()["choices"][0]["text"]
    error(requests.post(server.url + "/v1/completions", json={"prompt": prompt, "truncate_prompt_tokens": 0}, timeout=30), 400)
    error(requests.post(server.url + "/v1/completions", json={"prompt": prompt, "truncate_prompt_tokens": 10**6}, timeout=30), 400)


@pytest.mark.parametrize("extra, fragment", [
    ({"stop": [f"s{i}" for i in range(200)]}, "stop"),
    ({"stop": ["z" * 5000]}, "stop"),
    ({"stop_token_ids": list(range(2000))}, "stop_token_ids"),
    ({"logit_bias": {str(i): 1 for i in range(5000)}}, "logit_bias"),
    ({"bad_words": ["w"] * 500}, "bad_words"),
])
def test_list_fields_are_capped(server, extra, fragment):
    r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2, **extra}, timeout=30)
    assert fragment in error(r, 400)["message"]


def test_huge_prompt_list_is_refused_at_once(server):
    start = time.time()
    r = requests.post(server.url + "/v1/completions", json={"prompt": ["a"] * 5000, "max_tokens": 1}, timeout=30)
    assert "engine requests" in error(r, 400)["message"]
    assert time.time() - start < 5
    assert_idle(server.url)


def test_client_strings_cannot_forge_log_lines(server):
    forged = "INFO FORGED LINE"
    r = requests.post(server.url + "/v1/completions",
                      json={"prompt": "a\n" + forged, "max_tokens": 1, "request_id": "x\n" + forged}, timeout=30)
    assert r.status_code == 200
    time.sleep(0.2)
    assert not any(line.startswith(forged) for line in server.log)
    assert any("\\n" + forged in line for line in server.log)


@pytest.mark.parametrize("path, field", [("/v1/completions", "prompt"), ("/v1/chat/completions", "messages")])
def test_deeply_nested_bodies_are_400(server, path, field):
    for depth in (600, 100_000, 1_000_000):
        body = '{"max_tokens": 1, "%s": %s}' % (field, "[" * depth + "]" * depth)
        r = requests.post(server.url + path, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        error(r, 400)
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_sigterm_during_a_heavy_template_drains_and_exits():
    s = Server("--trust-request-chat-template", "--chat-template-timeout", "3")
    forever = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "chat_template": forever}
    with cf.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(requests.post, s.url + "/v1/chat/completions", json=body, timeout=60)
        time.sleep(0.5)
        start = time.time()
        s.proc.terminate()
        assert s.proc.wait(20) == 0
        assert time.time() - start < 10
        r = pending.result()
        assert r.status_code == 400 and "time limit" in r.text


def test_connections_beyond_the_cap_are_closed():
    s = Server("--max-connections", "3", env={"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": "30"})
    port = int(s.url.rsplit(":", 1)[1])
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        time.sleep(1.5)  # accepted and counted, even on a loaded machine
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(s.url + "/health", timeout=5)
        for c in idle:
            c.close()
        deadline = time.time() + 10
        while True:  # the server sees the closes shortly
            try:
                assert requests.get(s.url + "/health", timeout=5).status_code == 200
                break
            except requests.exceptions.ConnectionError:
                assert time.time() < deadline
                time.sleep(0.2)
    finally:
        assert s.stop() == 0


def test_documents_reach_the_template_and_logprobs_name_token_ids(tight):
    body = {"messages": [{"role": "user", "content": "hi"}], "documents": [{"title": "Zebra"}, {"title": "Quokka"}],
            "chat_template": "{% for d in documents %}{{ d.title }};{% endfor %}"}
    ids = requests.post(tight.url + "/tokenize", json=body, timeout=30).json()["tokens"]
    text = requests.post(tight.url + "/detokenize", json={"tokens": ids}, timeout=30).json()["prompt"]
    assert text == "Zebra;Quokka;"
    r = requests.post(tight.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 1, "logprobs": 1,
                                                           "return_tokens_as_token_ids": True}, timeout=30)
    lp = r.json()["choices"][0]["logprobs"]
    assert all(t.startswith("token_id:") and int(t[9:]) >= 0 for t in lp["tokens"] + list(lp["top_logprobs"][0]))

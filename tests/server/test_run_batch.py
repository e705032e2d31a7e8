"""`vllm run-batch`: an OpenAI batch file run offline, checked against `vllm serve` answering the
same bodies."""
import json
import subprocess

import pytest

from conftest import BINARY, MODEL

ENGINE_FLAGS = ["--max-model-len", "1024", "--kv-cache-memory", "256MiB"]

COMPLETION = {"model": MODEL, "prompt": "The capital of France is", "max_tokens": 12, "temperature": 0}
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Name three colors."}],
        "max_tokens": 16, "temperature": 0}
TWO_PROMPTS = {"model": MODEL, "prompt": ["One, two,", "Monday, Tuesday,"], "max_tokens": 6, "temperature": 0}


def line(custom_id, url, body):
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def run_batch(tmp_path, lines, *extra, output=None):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    dst = output or str(tmp_path / "out.jsonl")
    p = subprocess.run([BINARY, "run-batch", "-i", str(src), "-o", dst, *ENGINE_FLAGS, *extra],
                       capture_output=True, text=True, timeout=600)
    return p


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One run over a file mixing good and bad lines; the parsed output lines."""
    tmp = tmp_path_factory.mktemp("batch")
    lines = [
        line("cmpl", "/v1/completions", COMPLETION),
        line("chat", "/v1/chat/completions", CHAT),
        '{"custom_id": "no-url", "method": "POST"}',
        line("embed", "/v1/embeddings", {"model": MODEL, "input": "hi"}),
        line("nomodel", "/v1/completions", {**COMPLETION, "model": "no-such-model"}),
        line("toolong", "/v1/completions", {**COMPLETION, "prompt": "hello " * 1100}),
        line("stream", "/v1/chat/completions", {**CHAT, "stream": True}),
        "",
        line("two", "/v1/completions", TWO_PROMPTS),
    ]
    p = run_batch(tmp, lines)
    assert p.returncode == 0, p.stderr
    assert "8 lines, 5 failed" in p.stderr
    return [json.loads(l) for l in (tmp / "out.jsonl").read_text().splitlines()]


def test_one_output_line_per_input_line_in_order(mixed):
    assert [o["custom_id"] for o in mixed] == ["cmpl", "chat", "no-url", "embed", "nomodel", "toolong", "stream", "two"]
    for o in mixed:
        assert list(o) == ["id", "custom_id", "response", "error"]
        assert o["id"].startswith("vllm-")
        assert o["response"]["request_id"].startswith("vllm-batch-")
    assert len({o["id"] for o in mixed}) == len(mixed)


def test_good_lines_answer_as_the_server_does(mixed, client):
    cmpl, chat, two = mixed[0], mixed[1], mixed[7]
    for o in (cmpl, chat, two):
        assert o["response"]["status_code"] == 200 and o["error"] is None
    served = client.completions.create(**COMPLETION)
    body = cmpl["response"]["body"]
    assert body["object"] == "text_completion" and body["model"] == MODEL
    assert body["choices"][0]["text"] == served.choices[0].text
    assert (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"]) == \
        (served.usage.prompt_tokens, served.usage.completion_tokens)

    served_chat = client.chat.completions.create(**CHAT)
    body = chat["response"]["body"]
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == served_chat.choices[0].message.content
    assert body["choices"][0]["finish_reason"] == served_chat.choices[0].finish_reason

    served_two = client.completions.create(**TWO_PROMPTS)
    body = two["response"]["body"]
    assert [c["text"] for c in body["choices"]] == [c.text for c in served_two.choices]
    assert [c["index"] for c in body["choices"]] == [0, 1]


def test_incomplete_line_and_unknown_url_fail_alone(mixed):
    broken, embed = mixed[2], mixed[3]
    assert broken["response"] == {"status_code": 400, "request_id": broken["response"]["request_id"], "body": None}
    assert "Field required: 'url'" in broken["error"]
    assert embed["response"]["status_code"] == 400 and embed["response"]["body"] is None
    assert "/v1/embeddings" in embed["error"] and "/v1/chat/completions" in embed["error"]


def test_request_errors_carry_the_servers_error_body(mixed):
    nomodel, toolong = mixed[4], mixed[5]
    assert nomodel["response"]["status_code"] == 404 and nomodel["response"]["body"] is None
    assert nomodel["error"]["error"]["type"] == "NotFoundError"
    assert "no-such-model" in nomodel["error"]["error"]["message"]
    assert toolong["response"]["status_code"] == 400
    assert toolong["error"]["error"]["code"] == 400
    assert "maximum context length is 1024" in toolong["error"]["error"]["message"]


def test_stream_requests_are_refused_per_line(mixed):
    stream = mixed[6]
    assert stream["response"]["status_code"] == 400 and stream["response"]["body"] is None
    assert "stream" in stream["error"]


def test_output_to_stdout(tmp_path):
    p = run_batch(tmp_path, [line("a", "/v1/completions", {**COMPLETION, "max_tokens": 3}),
                             line("b", "/v1/completions", {**COMPLETION, "max_tokens": 2})], output="-")
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines()]
    assert [o["custom_id"] for o in out] == ["a", "b"]
    assert [o["response"]["body"]["usage"]["completion_tokens"] for o in out] == [3, 2]


def test_served_model_name_is_what_bodies_must_use(tmp_path):
    p = run_batch(tmp_path, [line("named", "/v1/completions", {**COMPLETION, "model": "mine", "max_tokens": 2}),
                             line("other", "/v1/completions", {**COMPLETION, "max_tokens": 2})],
                  "--served-model-name", "mine", output="-")
    assert p.returncode == 0, p.stderr
    named, other = [json.loads(l) for l in p.stdout.splitlines()]
    assert named["response"]["status_code"] == 200 and named["response"]["body"]["model"] == "mine"
    assert other["response"]["status_code"] == 404


@pytest.mark.parametrize("bad", ['{"custom_id": "broken", "method": "POST", "url": ', '{"invalid_field": "x", "method": "POST"}'])
def test_a_line_that_cannot_be_matched_fails_the_batch(tmp_path, bad):
    # As vLLM: every line is validated before any runs; one without a custom_id (or no JSON
    # object at all) ends the run with an error naming it.
    p = run_batch(tmp_path, [line("a", "/v1/completions", COMPLETION), bad])
    assert p.returncode != 0 and "line 2:" in p.stderr, p.stderr


def test_output_is_written_into_the_file_in_place(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old contents that must go\n")
    with open(out) as reader:  # opened before the run, as a tempfile.NamedTemporaryFile is
        p = run_batch(tmp_path, [line("a", "/v1/completions", {**COMPLETION, "max_tokens": 2})], output=str(out))
        assert p.returncode == 0, p.stderr
        [o] = [json.loads(l) for l in reader.read().splitlines()]
    assert o["custom_id"] == "a"


def test_missing_input_file_is_a_clear_error(tmp_path):
    p = subprocess.run([BINARY, "run-batch", "-i", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "o.jsonl")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "cannot read --input-file" in p.stderr


def test_metrics_are_served_while_the_batch_runs(tmp_path):
    import socket
    import time

    import requests
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    long = {**COMPLETION, "max_tokens": 400, "ignore_eos": True}
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(line(f"r{i}", "/v1/completions", long) for i in range(4)) + "\n")
    proc = subprocess.Popen([BINARY, "run-batch", "-i", str(src), "-o", str(tmp_path / "out.jsonl"), *ENGINE_FLAGS,
                             "--enable-metrics", "--url", "127.0.0.1", "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        scraped = None
        while scraped is None and proc.poll() is None:
            try:
                # Any path answers, as prometheus_client's server does (vLLM's test polls "/").
                r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                if r.status_code == 200 and "vllm:num_requests_running" in r.text:
                    scraped = r.text
            except requests.ConnectionError:
                time.sleep(0.02)
        assert scraped is not None, "the batch ended before its metrics listener answered"
        assert "vllm:prompt_tokens_total" in scraped and "vllm:kv_cache_usage_perc" in scraped
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
    finally:
        _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "4 lines, 0 failed" in err


def test_metrics_port_in_use_is_a_clear_error(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = run_batch(tmp_path, [line("a", "/v1/completions", {**COMPLETION, "max_tokens": 2})],
                      "--enable-metrics", "--url", "127.0.0.1", "--port", str(port))
    assert p.returncode != 0 and f"cannot serve metrics on 127.0.0.1:{port}" in p.stderr, p.stderr

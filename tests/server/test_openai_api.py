"""The OpenAI-compatible server driven by the official `openai` client, plus raw HTTP where
the client would hide the wire format."""
import json

import pytest
import requests

from conftest import MODEL, metric

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]


def test_models_lists_the_served_model(client):
    models = client.models.list().data
    assert [m.id for m in models] == [MODEL]
    assert models[0].owned_by == "vllm"
    assert models[0].model_extra["max_model_len"] == 1024


def test_completion_greedy_respects_max_tokens(client):
    r = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=5, temperature=0)
    c = r.choices[0]
    assert r.object == "text_completion" and r.id.startswith("cmpl-")
    assert c.finish_reason == "length" and c.text
    assert r.usage.completion_tokens == 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + 5


def test_completion_is_deterministic_when_greedy(client):
    a = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0)
    b = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0)
    assert a.choices[0].text == b.choices[0].text


def test_completion_prompt_forms_and_n(client, server):
    ids = requests.post(server.url + "/tokenize", json={"prompt": "Hello there"}).json()["tokens"]
    r = client.completions.create(model=MODEL, prompt=["Hello there", "Good morning"], n=2, max_tokens=3,
                                  temperature=1, seed=1)
    assert sorted(c.index for c in r.choices) == [0, 1, 2, 3]
    by_ids = client.completions.create(model=MODEL, prompt=ids, max_tokens=4, temperature=0)
    by_text = client.completions.create(model=MODEL, prompt="Hello there", max_tokens=4, temperature=0)
    assert by_ids.choices[0].text == by_text.choices[0].text
    assert by_ids.usage.prompt_tokens == len(ids)
    lists = client.completions.create(model=MODEL, prompt=[ids, ids], max_tokens=4, temperature=0)
    assert [c.text for c in lists.choices] == [by_text.choices[0].text] * 2


def test_completion_echo_and_logprobs(client):
    r = client.completions.create(model=MODEL, prompt="Hi", max_tokens=3, temperature=0, echo=True)
    assert r.choices[0].text.startswith("Hi")
    r = client.completions.create(model=MODEL, prompt="Hi", max_tokens=4, temperature=0, logprobs=3)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 4
    assert "".join(lp.tokens) == r.choices[0].text
    assert all(1 <= len(t) <= 4 for t in lp.top_logprobs)
    assert all(v <= 0 for v in lp.token_logprobs)
    assert lp.text_offset[0] == 0


def test_completion_max_tokens_defaults_to_the_rest_of_the_context(server):
    # A long prompt keeps the rest of the context (and the test) short.
    prompt = "one two three four " * 240
    r = requests.post(server.url + "/v1/completions", json={"prompt": prompt, "ignore_eos": True,
                                                            "temperature": 0}, timeout=300).json()
    assert 0 < r["usage"]["completion_tokens"] < 100
    assert r["usage"]["total_tokens"] == 1024
    assert r["choices"][0]["finish_reason"] == "length"


def test_completion_stream_with_usage(client, server):
    full = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=10, temperature=0)
    chunks = list(client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=10, temperature=0,
                                            stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == full.choices[0].text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 10
    raw = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2, "stream": True},
                        stream=True, timeout=60)
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [l for l in raw.iter_lines(decode_unicode=True) if l]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_chat_answers_and_streams_the_same(client):
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=40, temperature=0)
    msg = r.choices[0].message
    assert r.object == "chat.completion" and msg.role == "assistant"
    assert "Paris" in msg.content and r.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=40, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == msg.content
    assert chunks[-1].usage.completion_tokens == r.usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == r.usage.prompt_tokens


def test_chat_n_and_seed_determinism(client):
    kw = dict(model=MODEL, messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=16,
              temperature=1.0, n=2, seed=1234)
    a = client.chat.completions.create(**kw)
    b = client.chat.completions.create(**kw)
    assert len(a.choices) == 2 and [c.index for c in a.choices] == [0, 1]
    assert [c.message.content for c in a.choices] == [c.message.content for c in b.choices]
    c = client.chat.completions.create(**{**kw, "seed": 99})
    assert [x.message.content for x in c.choices] != [x.message.content for x in a.choices]


def test_chat_logprobs(client):
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_completion_tokens=5, temperature=0,
                                       logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens == 5
    for e in content:
        assert len(e.top_logprobs) == 2 and e.logprob <= 0 and bytes(e.bytes).decode("utf-8", "replace") == e.token
        # Greedy: the chosen token is the most likely one.
        assert e.logprob >= e.top_logprobs[0].logprob - 1e-4


def test_chat_stop_string(client):
    full = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=40, temperature=0)
    word = "Paris"
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=40, temperature=0, stop=[word])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].model_extra["stop_reason"] == word
    assert r.choices[0].message.content == full.choices[0].message.content.split(word)[0]
    s = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=40, temperature=0, stop=word,
                                       stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in s) == r.choices[0].message.content


def test_chat_continue_final_message_and_echo(client):
    msgs = CAPITAL + [{"role": "assistant", "content": "The capital of France is"}]
    r = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=5, temperature=0,
                                       extra_body={"continue_final_message": True, "add_generation_prompt": False,
                                                   "echo": True})
    assert r.choices[0].message.content.startswith("The capital of France is")


def test_chat_response_format_text_and_tools_without_parser(client, server):
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=3, response_format={"type": "text"})
    assert r.choices[0].message.content is not None
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=3, tools=tools, tool_choice="none")
    assert r.choices[0].message.tool_calls in (None, [])
    bad = requests.post(server.url + "/v1/chat/completions", json={"messages": CAPITAL, "tools": tools})
    assert bad.status_code == 400 and "--enable-auto-tool-choice" in bad.json()["error"]["message"]


def test_tokenize_and_detokenize(server, client):
    t = requests.post(server.url + "/tokenize", json={"model": MODEL, "prompt": "Hello world"}).json()
    assert t["count"] == len(t["tokens"]) and t["max_model_len"] == 1024 and t["token_strs"] is None
    d = requests.post(server.url + "/detokenize", json={"model": MODEL, "tokens": t["tokens"]}).json()
    assert d["prompt"] == "Hello world"
    chat = requests.post(server.url + "/tokenize", json={"messages": CAPITAL, "return_token_strs": True}).json()
    r = client.chat.completions.create(model=MODEL, messages=CAPITAL, max_tokens=1)
    assert chat["count"] == r.usage.prompt_tokens == len(chat["token_strs"])


def test_health_version_and_metrics(server, client):
    assert requests.get(server.url + "/health").status_code == 200
    assert "version" in requests.get(server.url + "/version").json()
    client.completions.create(model=MODEL, prompt="Hi", max_tokens=2)
    text = requests.get(server.url + "/metrics").text
    for name in ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                 "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total", "vllm:num_preemptions_total",
                 "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
                 "vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket",
                 "vllm:e2e_request_latency_seconds_count"]:
        assert name in text, name
    assert metric(server.url, "vllm:generation_tokens_total") >= 2

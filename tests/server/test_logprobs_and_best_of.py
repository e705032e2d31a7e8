"""vLLM's completions extras: best_of, echo with logprobs, prompt_logprobs (and prompt_logprobs in
chat), through the official client."""
import json

import pytest
import requests

from conftest import MODEL

PROMPT = "The capital of France is"


def tokenize(server, text):
    return requests.post(server.url + "/tokenize", json={"prompt": text}, timeout=30).json()["tokens"]


def test_best_of_returns_the_n_most_likely_candidates(client):
    # The engine seeds candidate i with seed + i, so n=4 shows the four candidates best_of=4 draws.
    args = dict(model=MODEL, prompt=PROMPT, max_tokens=6, temperature=1.0, seed=11)
    all4 = client.completions.create(n=4, logprobs=0, **args)
    by_score = sorted(all4.choices, key=lambda c: -sum(c.logprobs.token_logprobs))
    best = client.completions.create(n=2, best_of=4, **args)
    assert [c.index for c in best.choices] == [0, 1]
    assert [c.text for c in best.choices] == [c.text for c in by_score[:2]]
    assert best.usage.completion_tokens == sum(len(c.logprobs.tokens) for c in by_score[:2])


def test_best_of_below_n_is_refused(client):
    import openai
    with pytest.raises(openai.BadRequestError, match="best_of"):
        client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=2, n=3, best_of=2)


def test_streamed_best_of_comes_as_one_event(server):
    r = requests.post(server.url + "/v1/completions", json={
        "model": MODEL, "prompt": PROMPT, "max_tokens": 4, "best_of": 3, "seed": 1, "stream": True}, timeout=120)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [l[len("data: "):] for l in r.text.split("\n\n") if l]
    assert events[-1] == "[DONE]" and len(events) == 2
    whole = json.loads(events[0])
    assert whole["object"] == "text_completion" and len(whole["choices"]) == 1
    assert whole["choices"][0]["finish_reason"] == "length"


def test_chat_best_of(client, server):
    msgs = [{"role": "user", "content": "Say something."}]
    r = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=5, seed=3, extra_body={"best_of": 3})
    assert [c.index for c in r.choices] == [0]
    streamed = requests.post(server.url + "/v1/chat/completions", json={
        "model": MODEL, "messages": msgs, "max_tokens": 5, "best_of": 3, "stream": True}, timeout=60)
    assert streamed.status_code == 400 and "best_of" in streamed.json()["error"]["message"]


def test_echo_with_logprobs_covers_the_prompt(client, server):
    ids = tokenize(server, PROMPT)
    plain = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2)
    r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2, echo=True)
    c = r.choices[0]
    assert c.text == PROMPT + plain.choices[0].text
    lp = c.logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(ids) + 4
    assert "".join(lp.tokens) == c.text
    # Nothing predicts the first prompt token.
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(v <= 0 for v in lp.token_logprobs[1:])
    assert all(1 <= len(t) <= 3 for t in lp.top_logprobs[1:])
    assert lp.text_offset[0] == 0
    assert all(b - a == len(t) for a, b, t in zip(lp.text_offset, lp.text_offset[1:], lp.tokens))
    assert lp.token_logprobs[len(ids):] == pytest.approx(plain.choices[0].logprobs.token_logprobs, abs=1e-6)
    # vLLM also fills prompt_logprobs when echo asks for the prompt's logprobs.
    prompt_lp = c.model_extra["prompt_logprobs"]
    assert len(prompt_lp) == len(ids) and prompt_lp[0] is None
    for i, entry in enumerate(prompt_lp[1:], start=1):
        assert entry[str(ids[i])]["logprob"] == pytest.approx(lp.token_logprobs[i], abs=1e-9)


def test_echo_with_zero_max_tokens_returns_just_the_prompt(client, server):
    ids = tokenize(server, PROMPT)
    r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=0, echo=True, logprobs=1)
    c = r.choices[0]
    assert c.text == PROMPT
    assert len(c.logprobs.tokens) == len(ids) and c.logprobs.token_logprobs[0] is None


def test_streamed_echo_with_logprobs_matches_the_whole_response(client):
    args = dict(model=MODEL, prompt=PROMPT, max_tokens=5, temperature=0, logprobs=1, echo=True)
    whole = client.completions.create(**args).choices[0]
    chunks = [ch.choices[0] for ch in client.completions.create(stream=True, **args) if ch.choices]
    assert "".join(ch.text for ch in chunks) == whole.text
    tokens = [t for ch in chunks for t in ch.logprobs.tokens]
    offsets = [o for ch in chunks for o in ch.logprobs.text_offset]
    assert tokens == whole.logprobs.tokens and offsets == whole.logprobs.text_offset
    assert chunks[0].logprobs.token_logprobs[0] is None


def test_prompt_logprobs_shape_and_ranks(client, server):
    greedy = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=1, temperature=0, logprobs=1)
    token_lp = greedy.choices[0].logprobs.token_logprobs[0]
    ids = tokenize(server, PROMPT + greedy.choices[0].text)
    assert ids[:-1] == tokenize(server, PROMPT)
    r = client.completions.create(model=MODEL, prompt=ids, max_tokens=1, temperature=0, extra_body={"prompt_logprobs": 3})
    plp = r.choices[0].model_extra["prompt_logprobs"]
    assert len(plp) == len(ids) == r.usage.prompt_tokens and plp[0] is None
    for i, entry in enumerate(plp[1:], start=1):
        keys = list(entry)
        assert keys[0] == str(ids[i]) and 3 <= len(entry) <= 4
        for key, v in entry.items():
            assert set(v) == {"logprob", "rank", "decoded_token"} and v["logprob"] <= 0 and v["rank"] >= 1
        # The alternatives are ranked 1, 2, 3 by logprob.
        top = sorted(entry.values(), key=lambda v: -v["logprob"])[:3]
        assert [v["rank"] for v in top] == [1, 2, 3]
        if len(entry) == 4:
            assert entry[keys[0]]["rank"] > 3
    # The last prompt token is the greedy continuation of the rest: rank 1, the same logprob.
    last = plp[-1][str(ids[-1])]
    assert last["rank"] == 1 and last["logprob"] == pytest.approx(token_lp, abs=0.02)
    decoded = "".join(plp[i][str(ids[i])]["decoded_token"] for i in range(1, len(ids)))
    assert len(decoded) > 0 and (PROMPT + greedy.choices[0].text).endswith(decoded)


def test_prompt_logprobs_zero_is_the_token_alone(client):
    r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=1, extra_body={"prompt_logprobs": 0})
    plp = r.choices[0].model_extra["prompt_logprobs"]
    assert all(len(e) == 1 for e in plp[1:])


def test_prompt_logprobs_refused_when_streaming(server):
    r = requests.post(server.url + "/v1/completions", json={
        "model": MODEL, "prompt": PROMPT, "max_tokens": 2, "stream": True, "prompt_logprobs": 1}, timeout=30)
    assert r.status_code == 400 and "stream" in r.json()["error"]["message"]


def test_no_prompt_logprobs_unless_asked(client):
    r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=1)
    assert r.choices[0].model_extra["prompt_logprobs"] is None


def test_chat_prompt_logprobs(client):
    msgs = [{"role": "user", "content": "Hi there"}]
    r = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=2, extra_body={"prompt_logprobs": 1})
    plp = r.model_extra["prompt_logprobs"]
    assert len(plp) == r.usage.prompt_tokens and plp[0] is None
    assert all(1 <= len(e) <= 2 for e in plp[1:])
    plain = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=2)
    assert plain.model_extra["prompt_logprobs"] is None
